"""The rank handshake's pieces that need no second rank: stable digests, messages, switches.

The jobs that exercise it for real (divergence, timeouts, the end of a script) are in
``test_faults.py``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _launch import ROOT

import lazyheat as lh
from lazyheat import planner
from lazyheat.runtime import sync

PLANS = """
import numpy as np
import lazyheat as lh
from lazyheat import planner
x = lh.random.randn(40, 6, split=0, seed=3)
y = lh.arange(6, dtype=lh.float32)
outs = [((x - x.mean(0)) / x.std(0)).sum(1), x.T @ x, (x * 2.5 + y).max(0), x[3:9, ::2],
        lh.resplit(x, 1).cumsum(axis=1), lh.concatenate([x, x]).argmax(0),
        lh.where(x > 0, x, 0.5j).prod()]
for o in outs:
    key = planner._template([o._node])[0]
    print(repr(key).count(" at 0x"), planner.sync.digest(repr(key)))
"""


def test_plan_digests_are_the_same_in_every_process():
    """Ranks compare digests of their plans' keys: the key's text must hold no memory
    address or per-process hash, or equal plans would look different."""
    runs = []
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", textwrap.dedent(PLANS)], cwd=ROOT,
                             capture_output=True, text=True, check=True,
                             env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"})
        runs.append(out.stdout.splitlines())
    assert runs[0] == runs[1]
    assert all(line.startswith("0 ") for line in runs[0]), runs[0]


def test_digest_is_two_int64_words():
    d = sync.digest("plan")
    assert len(d) == 2 and all(isinstance(w, int) for w in d)
    assert d == sync.digest("plan") and d != sync.digest("plan ")


def test_divergence_message_groups_ranks_and_names_lines():
    msg = sync._divergence_message(["compute of sum at a.py:3 [plan 1]",
                                    "compute of max at a.py:4 [plan 2]",
                                    "compute of sum at a.py:3 [plan 1]", sync.FINISHED])
    assert "ranks 0, 2: compute of sum at a.py:3" in msg
    assert "rank 1: compute of max at a.py:4" in msg
    assert "rank 3: finished its script" in msg


def test_same_statement_different_plans_gets_a_hint():
    msg = sync._divergence_message(["compute of sum at a.py:3 [plan 1]",
                                    "compute of sum at a.py:3 [plan 2]"])
    assert "different constants, shapes or dtypes" in msg


def test_differing_data_names_the_creating_line():
    descs = [f"numpy() of i64[4@0] at a.py:6 reading data created at a.py:5 (crc32 {c})"
             for c in ("0000aaaa", "0000bbbb")]
    msg = sync._divergence_message(descs)
    assert "differs between ranks" in msg and "a.py:5" in msg and "lh.from_local" in msg


def test_check_switch(monkeypatch):
    monkeypatch.setenv("LAZYHEAT_CHECK", "0")
    assert sync.check_mode() == "off"
    monkeypatch.setenv("LAZYHEAT_CHECK", "plan")
    assert sync.check_mode() == "plan"
    monkeypatch.delenv("LAZYHEAT_CHECK")
    assert sync.check_mode() == "full"
    monkeypatch.setenv("LAZYHEAT_TIMEOUT", "12.5")
    assert sync.timeout() == 12.5


def test_array_records_a_checksum_of_the_whole_data_on_several_ranks():
    """One rank never checks (there is nobody to compare with); the checksum covers the
    data as passed, before a rank keeps its block."""
    a = lh.array(np.arange(10), split=0)
    assert a._node.attr("buf").crc is None  # one rank: nothing to compare
    data = np.arange(10, dtype=np.int64)
    assert sync.crc(data) == sync.crc(data.copy())
    assert sync.crc(data) != sync.crc(data[::-1].copy())


def test_one_rank_handshake_is_free():
    sync.handshake(lh.world(), "nothing", (1, 2), "x.py:1", [("x.py:1", 5)])


def test_analyze_keeps_the_plan_visible():
    x = lh.arange(10, split=0, dtype=lh.float32)
    y = (x * 2).sum()
    lh.explain(y, analyze=True)
    assert y.is_materialized
    text = lh.plan(y).text()
    assert "fused" in text and "arange" in text


def test_user_line_of_a_failure_skips_installed_libraries():
    from lazyheat.runtime import comm as cm

    try:
        np.ones(10**15)
    except MemoryError:
        tb = sys.exc_info()[2]
    assert cm._user_line(tb).startswith("test_sync.py:")


def test_entry_script_lines_are_user_lines():
    out = subprocess.run([sys.executable, "-m", "lazyheat", "demo", "--rows", "1000"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "__main__.py:" in out.stdout and "<unknown>" not in out.stdout


@pytest.mark.parametrize("mode", ["0", "plan"])
def test_switches_keep_one_rank_working(monkeypatch, mode):
    monkeypatch.setenv("LAZYHEAT_CHECK", mode)
    planner.clear_plan_cache()
    assert lh.arange(5, split=0).sum().item() == 10
