"""Run the rank-count independent suite in tests/mpi on 2, 3 and 4 ranks.

The single-process ``python -m pytest`` run covers one rank; this launches the
same tests under mpiexec (oversubscribing the cores where needed). Each launch
reports rank 0's own counts (passed, failed, skipped): in its failure message,
and in a table that tests/conftest.py prints at the end of the session.
"""

from __future__ import annotations

import time

import pytest
from _launch import (
    COUNTS_ENV,
    KINDS,
    MPI_RUNS,
    describe,
    mpirun,
    parse_summary,
    read_counts,
    summary_line,
    tail,
)


@pytest.mark.parametrize("nranks", [2, 3, 4])
def test_mpi_suite(nranks, request, tmp_path):
    # -s: when a kernel fails on one rank lazyheat aborts the whole job; without output
    # capture its "lazyheat: rank R failed ..." message reaches us.
    # faulthandler_timeout: if the ranks ever disagree and wait on each other, every rank
    # prints where it is stuck before the launch times out.
    args = ["-m", "pytest", "-q", "-x", "-s", "-p", "no:cacheprovider"]
    args += ["-o", "faulthandler_timeout=120", "tests/mpi"]
    counts_file = tmp_path / "counts.json"
    runs = request.config.stash.setdefault(MPI_RUNS, [])
    row = {"ranks": nranks, "counts": None, "source": "none", "seconds": None,
           "returncode": None}
    runs.append(row)
    t0 = time.perf_counter()
    try:
        proc = mpirun(nranks, args, timeout=600, extra_env={COUNTS_ENV: str(counts_file)})
    finally:
        row["seconds"] = time.perf_counter() - t0
    row["counts"], row["source"] = read_counts(counts_file, proc.stdout)
    row["returncode"] = proc.returncode
    if proc.returncode != 0:
        # the counts first: pytest's short summary shows the message's first line
        pytest.fail(f"{summary_line(row)}\n{tail(proc.stdout, 150)}")


def test_parse_summary():
    """The fallback parser reads pytest's closing line, with or without failures."""
    out = "..s.\n321 passed, 2 skipped in 40.12s (0:00:40)\n"
    assert parse_summary(out) == dict.fromkeys(KINDS, 0) | {"passed": 321, "skipped": 2}
    out = "x\n==== 1 failed, 10 passed, 1 error, 3 warnings in 2.00s ====\n"
    assert parse_summary(out) == dict.fromkeys(KINDS, 0) | {"passed": 10, "failed": 1,
                                                            "errors": 1}
    assert parse_summary("INTERNALERROR> boom\n") is None
    assert describe(None) == "no pytest summary"
    assert describe(dict.fromkeys(KINDS, 0) | {"passed": 3, "xfailed": 1}) == \
        "3 passed, 0 failed, 0 skipped, 1 xfailed"
