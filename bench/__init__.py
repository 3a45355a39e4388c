"""lazyheat's benchmark suite: lazyheat against HeAT, Dask, NumPy, torch and scikit-learn.

Run ``python -m bench --help``; see ``bench/README.md``.
"""
