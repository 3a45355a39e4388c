"""The demo job from the README runs on one rank and under mpiexec."""

import sys

from _launch import mpirun, run, tail


def test_demo_single_rank():
    proc = run([sys.executable, "-m", "lazyheat", "demo"], timeout=300)
    assert proc.returncode == 0, tail(proc.stdout)
    assert proc.stdout.strip(), "the demo printed nothing"


def test_demo_two_ranks():
    proc = mpirun(2, ["-m", "lazyheat", "demo"], timeout=300)
    assert proc.returncode == 0, tail(proc.stdout)
