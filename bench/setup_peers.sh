#!/usr/bin/env bash
# Create the benchmark environment: lazyheat plus every peer library the suite compares it to.
#
#   bash bench/setup_peers.sh [VENV]          (default VENV: .bench-venv in the repo root)
#
# The order of the steps matters:
# 1. CPU torch 2.13.0 first and alone, so that nothing later makes pip pick a CUDA build.
# 2. lazyheat editable with [mpi,bench]: mpich/mpiexec, dask[array,dataframe], pandas, the I/O libraries, distributed,
#    scikit-learn, matplotlib.
# 3. HeAT 1.9.0 with --no-deps --ignore-requires-python: heat 1.9.0 accepts torch 2.13 but
#    declares Python >= 3.12 (it runs on 3.11); heat 1.8.0, what plain `pip install heat`
#    picks on 3.11, pins torch < 2.11.1 and drags in a CUDA torch. HeAT's own requirements
#    follow with the pins heat 1.9.0 declares.
# 4. torchvision 0.28.0 with --no-deps (HeAT imports it at `import heat`). Its PyPI wheel is
#    a CUDA build whose C extension cannot load beside CPU torch; torchvision guards every
#    C-op registration with extension._has_ops() except the fake kernels of nms and qnms,
#    which then fail at import. We add the same guard to those two (guard_torchvision below);
#    only torchvision.ops' C kernels stay unavailable, which nothing here uses.
#    Set TORCHVISION_PATCH=/path/to/a/patch_script.py to run your own fix instead.
# 5. dask-ml when it installs without touching torch (optional).
# 6. Check: `import heat` works and HeAT runs on 2 ranks under mpiexec.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.bench-venv}
PY=${PYTHON:-python3}

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip
$PIP install -q torch==2.13.0
$PIP install -q -e ".[mpi,bench]"
$PIP install -q --no-deps --ignore-requires-python heat==1.9.0
$PIP install -q "scipy<1.18" packaging "numpy<2.5" "mpi4py>=3"
$PIP install -q --no-deps torchvision==0.28.0

guard_torchvision() {
    "$VENV/bin/python" - <<'PY'
"""Guard torchvision's two unguarded fake-kernel registrations (nms, qnms) with the
extension._has_ops() check it uses for all the others. Idempotent."""
import importlib.util
import pathlib
import re

path = pathlib.Path(importlib.util.find_spec("torchvision").origin).parent
path = path / "_meta_registrations.py"
text = path.read_text()
pattern = r'^@torch\.library\.register_fake\(("torchvision::q?nms")\)$'
guarded = (r'@(torch.library.register_fake(\1) if torchvision.extension._has_ops() '
           r'else (lambda fn: fn))  # lazyheat bench: CPU torch')
text, n = re.subn(pattern, guarded, text, flags=re.M)
if n:
    path.write_text(text)
print(f"torchvision: guarded {n} registration(s) in {path}")
PY
}
if [ -n "${TORCHVISION_PATCH:-}" ]; then
    "$VENV/bin/python" "$TORCHVISION_PATCH"
else
    guard_torchvision
fi

# dask-ml is optional: install it only if pip would not replace torch (checked by a dry run).
if $PIP install --dry-run dask-ml 2>/dev/null | grep -qi "would install.*torch"; then
    echo "dask-ml: skipped (it would replace torch)"
else
    $PIP install -q dask-ml || echo "dask-ml: did not install; the suite runs without it"
fi

"$VENV/bin/python" -c "import torch, heat; assert '+cpu' in torch.__version__, torch.__version__; print('torch', torch.__version__, 'heat', heat.__version__)"
"$VENV/bin/mpiexec" -n 2 "$VENV/bin/python" -c "
import heat as ht
x = ht.arange(10, split=0)
s = x.sum().item()
assert s == 45, s
if x.comm.rank == 0: print('heat runs on', x.comm.size, 'ranks: ok')
"
echo "benchmark environment ready: $VENV/bin/python -m bench --help"
