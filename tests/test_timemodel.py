"""The time model (``graph/timemodel.py``, ``graph/work.py``): its formulas on fake
communicators, the network presets, the calibration file, ``explain(..., network=...)``,
the counter of predicted seconds and ``python -m lazyheat calibrate``."""

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lazyheat as lh
from lazyheat import predicted
from lazyheat.graph import topo_order
from lazyheat.graph.commcost import comm_cost
from lazyheat.graph.timemodel import (
    MMAP_BYTES,
    Kernels,
    Network,
    calibration_path,
    estimate,
    kernel_table,
    load_calibration,
    network_of,
    write_calibration,
)
from lazyheat.graph.work import local_bytes, work

ROOT = Path(__file__).resolve().parent.parent
NET = Network("test", alpha_s=1e-5, bandwidth_Bps=1e9)
K = Kernels(step_s=1e-5, plan_s=1e-4, comm_call_s=2e-5)


@pytest.fixture(autouse=True)
def no_calibration(tmp_path, monkeypatch):
    """Every test sees no calibration file unless it writes one (the machine's own file
    must not change what the tests compute)."""
    monkeypatch.setenv("LAZYHEAT_CALIBRATION", str(tmp_path / "none.json"))


def _steps(arr, network=NET, kernels=K, cores=None):
    p = lh.plan(arr)
    return estimate(p.outputs, network, kernels, cores), topo_order(p.outputs)


def test_kernel_time_is_overhead_plus_amount_over_throughput():
    comm = lh.FakeComm(4)
    x = lh.random.rand(1002, 8, split=0, seed=1, comm=comm)  # blocks of 251, 251, 250, 250
    t, order = _steps(x * 2 + 1)
    fused = next(n for n in order if n.op == "fused")
    block = 251 * 8 * 4
    assert local_bytes(fused.aval) == block
    # multiply reads x's block and writes its own; add reads that and writes the result
    assert work(fused) == [("ewise", 2.0 * block), ("ewise", 2.0 * block)]
    assert t.of(fused).seconds == pytest.approx(K.step_s + 4 * block / K.ewise)
    assert t.of(fused).kind == "compute"
    rand = order[0]
    assert t.of(rand).seconds == pytest.approx(K.step_s + 251 * 8 / K.random)


def test_matmul_flops_follow_the_busiest_block():
    x = lh.random.rand(1000, 16, split=0, seed=1, comm=lh.FakeComm(3))  # 334, 333, 333
    t, order = _steps(x.T @ x)
    mm = next(n for n in order if n.op == "matmul")
    assert work(mm) == [("matmul", 2.0 * 16 * 16 * 334)]
    assert t.of(mm).seconds == pytest.approx(K.step_s + 2 * 16 * 16 * 334 / K.matmul)


@pytest.mark.parametrize("p", [2, 3, 4, 8])
def test_collective_time_is_rounds_alpha_bytes_and_combine(p):
    x = lh.random.rand(4096, 64, split=0, seed=1, comm=lh.FakeComm(p))
    for arr in (x.sum(0), x.resplit(1), x.resplit(None)):
        t, order = _steps(arr)
        comms = [n for n in order if t.of(n).kind == "comm"]
        assert comms, lh.explain(arr)
        for n in comms:
            c = comm_cost(n)
            assert t.of(n).comm == c and c.rounds > 0
            # + the block packed into send buffers and the result out of receive buffers
            packed = sum(local_bytes(i.aval) for i in n.inputs) + local_bytes(n.aval)
            want = K.step_s + K.comm_call_s + c.rounds * NET.alpha_s + \
                c.bytes / NET.bandwidth_Bps + c.combine_bytes / K.reduce + packed / K.copy
            assert t.of(n).seconds == pytest.approx(want)
        # a communicating plan on several ranks pays the handshake (one small all-reduce)
        assert t.overhead_s > K.plan_s
        assert t.total_s == pytest.approx(t.compute_s + t.comm_s + t.overhead_s)


def test_one_rank_has_no_communication_and_no_handshake():
    x = lh.random.rand(4096, 64, split=0, seed=1, comm=lh.FakeComm(1))
    t, _ = _steps(x.sum(0))
    assert t.comm_s == 0 and t.overhead_s == K.plan_s


def test_alltoall_rounds_grow_with_ranks_and_slow_networks_cost_more():
    secs = []
    for p in (2, 4, 8):
        x = lh.random.rand(4096, 4096, split=0, seed=1, comm=lh.FakeComm(p))
        t, order = _steps(x.resplit(1), network="heat")
        (c,) = [t.of(n).comm for n in order if t.of(n).kind == "comm"]
        assert c.rounds == p - 1
        secs.append(t.comm_s)
        slow, _ = _steps(x.resplit(1), network="100gbe")
        assert slow.comm_s > t.comm_s
    # each rank receives (p-1)/p of its block, and the block shrinks as 1/p
    assert secs[0] > secs[1] > secs[2]


def test_oversubscribed_ranks_share_cores():
    x = lh.random.rand(1 << 16, 8, split=0, seed=1, comm=lh.FakeComm(4))
    alone, _ = _steps(x.sum(0))
    shared, _ = _steps(x.sum(0), cores=2)
    assert shared.scale == 2.0 and shared.total_s == pytest.approx(2 * alone.total_s)
    # the "shm" network knows its machine's cores
    assert network_of("shm").cores is not None


def test_large_results_pay_for_fresh_memory():
    n = MMAP_BYTES // 4 * 2  # a 64 MiB float32 result on one rank
    x = lh.random.rand(n, split=0, seed=1, comm=lh.FakeComm(1))
    t, order = _steps(lh.cumulative_sum(x))
    scan = next(n_ for n_ in order if n_.op == "cumsum")
    nbytes = 4 * n
    assert t.of(scan).seconds == pytest.approx(K.step_s + nbytes / K.scan + nbytes / K.alloc)
    small, order = _steps(lh.cumulative_sum(lh.random.rand(1000, split=0, seed=1,
                                                           comm=lh.FakeComm(1))))
    scan = next(n_ for n_ in order if n_.op == "cumsum")
    assert small.of(scan).seconds == pytest.approx(K.step_s + 4000 / K.scan)


def test_parts_of_one_computation_count_once():
    x = lh.random.rand(4096, 16, split=0, seed=1, comm=lh.FakeComm(1))
    q, r = lh.linalg.qr(x)
    p = lh.plan(q, r)
    t = estimate(p.outputs, NET, K)
    factor = [s for s in t.steps if s.node.op == "tsqr"]
    assert len(factor) == 2 and [bool(s.work) for s in factor] == [True, False]
    alone = estimate(lh.plan(q).outputs, NET, K)
    assert t.compute_s == pytest.approx(alone.compute_s + K.step_s)


def test_shared_parts_match_the_runtime():
    from lazyheat.graph.work import SHARED_PARTS
    from lazyheat.runtime.kernels import PART_KEYS

    # the runtime's shared computations, but the block factorization of tsqr_rlocal and
    # tsqr_q, which the rules of work.py count once on their own
    assert SHARED_PARTS == set(PART_KEYS) - {"tsqr_rlocal", "tsqr_q"}


def test_every_op_class_has_a_throughput():
    from lazyheat.graph.ops import OPS
    from lazyheat.graph.work import BY_GROUP, BY_OP, CLASSES

    k = Kernels()
    for cls in CLASSES:
        assert k.throughput(cls) > 0
    assert set(BY_OP) <= set(OPS)
    assert all(d.group in BY_GROUP for d in OPS.values())


def test_presets_and_user_networks():
    heat = network_of("heat")
    assert heat.alpha_s < 5e-6 and 10e9 <= heat.bandwidth_Bps <= 12.5e9
    assert network_of("HEAT") == heat and network_of("edr").bandwidth_Bps == heat.bandwidth_Bps
    eth = network_of("100gbe")
    assert eth.alpha_s > heat.alpha_s
    assert network_of(NET) is NET
    mine = network_of({"alpha_s": 3e-6, "bandwidth_Bps": 5e9})
    assert mine == Network("custom", 3e-6, 5e9)
    with pytest.raises(ValueError, match="unknown network"):
        network_of("carrier-pigeon")
    with pytest.raises(ValueError, match="unknown Network fields"):
        network_of({"latency": 1e-6, "bandwidth_Bps": 1e9})
    with pytest.raises(TypeError):
        network_of(3)


def test_calibration_file_round_trip(tmp_path, monkeypatch):
    path = tmp_path / "cal.json"
    assert load_calibration(path) is None and kernel_table(path) == Kernels()
    write_calibration({"kernels": {"ewise": 1.5e10, "plan_s": 7e-5, "unknown": 1.0},
                       "network": {"alpha_s": 4e-6, "bandwidth_Bps": 2e9, "cores": 16}},
                      path)
    k = kernel_table(path)
    assert k.ewise == 1.5e10 and k.plan_s == 7e-5 and k.matmul == Kernels().matmul
    assert "calibrated" in k.source
    net = network_of("shm", path)
    assert (net.alpha_s, net.bandwidth_Bps, net.cores) == (4e-6, 2e9, 16)
    # LAZYHEAT_CALIBRATION chooses the file the model reads by default
    monkeypatch.setenv("LAZYHEAT_CALIBRATION", str(path))
    assert calibration_path() == path and kernel_table().ewise == 1.5e10
    assert network_of("shm").cores == 16
    # else lazyheat's cache directory
    monkeypatch.delenv("LAZYHEAT_CALIBRATION")
    monkeypatch.setenv("LAZYHEAT_CACHE_DIR", str(tmp_path / "cache"))
    assert calibration_path() == tmp_path / "cache" / "calibration.json"
    # a file of another schema, or not JSON, is ignored
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"schema": "something/1", "kernels": {"ewise": 1.0}}))
    assert kernel_table(other) == Kernels()
    other.write_text("not json")
    assert load_calibration(other) is None


def test_explain_with_network_text_and_json():
    x = lh.random.rand(100_000, 16, split=0, seed=1, comm=lh.FakeComm(4))
    z = (x - x.mean(0)) / x.std(0)
    plain = lh.explain(z)
    estimated = re.compile(r"~[\d.]+ (us|ms|s)$")
    assert not any(estimated.search(line) for line in plain.splitlines())
    assert "time:" not in plain
    text = lh.explain(z, network="heat")
    # the same listing, each step with its estimate, and one more totals line
    assert len(text.splitlines()) == len(plain.splitlines()) + 1
    assert "round" in text and "time: ~" in text and "on heat" in text
    steps = [line for line in text.splitlines() if line.lstrip().startswith("%")]
    assert steps and all(estimated.search(line) for line in steps)
    assert "compute" in text.splitlines()[-1] and "communication" in text.splitlines()[-1]
    doc = json.loads(lh.explain(z, network={"alpha_s": 1e-6, "bandwidth_Bps": 1e10},
                                format="json"))
    assert doc["schema"] == "lazyheat.plan/1" and doc["time"]["network"]["name"] == "custom"
    comm = [n for n in doc["nodes"] if "comm" in n]
    assert comm and all(n["time"]["rounds"] >= 1 and n["time"]["algorithm"] for n in comm)
    t = doc["time"]
    assert t["total_s"] == pytest.approx(t["compute_s"] + t["comm_s"] + t["overhead_s"])
    assert t["total_s"] == pytest.approx(sum(n["time"]["seconds"] for n in doc["nodes"])
                                         + t["overhead_s"])
    assert "time" not in json.loads(lh.explain(z, format="json"))
    # a user Network, and the public estimate for another world size
    slow = lh.estimate(z, network=lh.Network("slow", 1e-3, 1e8), world_size=16)
    fast = lh.estimate(z, network="heat", world_size=16)
    assert slow.world_size == 16 and slow.comm_s > fast.comm_s


def test_explain_analyze_with_network_shows_both():
    x = lh.random.rand(1000, 4, split=0, seed=1)
    text = lh.explain(x.sum(0), analyze=True, network="shm")
    assert " ms, " in text or "ms]" in text
    assert "time: ~" in text


def test_predicted_counter_adds_each_plan_run():
    before = predicted.active()  # LAZYHEAT_MODEL may have turned it on for the session
    try:
        r = predicted.record("heat")
        x = lh.random.rand(1000, 4, split=0, seed=1).compute()
        r.reset()
        for _ in range(3):
            (x * 2).sum().compute()
        assert r.plans == 3 and r.seconds > 0
        one = r.seconds / 3
        x.numpy()
        assert r.gathers == 1
        r.reset()
        assert (r.seconds, r.plans) == (0.0, 0)
        (x * 2).sum().compute()
        assert r.seconds == pytest.approx(one)
        predicted.stop()
        (x * 2).sum().compute()
        assert r.plans == 1 and predicted.active() is None
    finally:
        predicted.ACTIVE = before


def test_calibrate_quick_runs(tmp_path):
    out = tmp_path / "cal.json"
    res = subprocess.run([sys.executable, "-m", "lazyheat", "calibrate", "--quick", "--out",
                          str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "lazyheat calibrate" in res.stdout and "matmul" in res.stdout
    doc = load_calibration(out)
    k = kernel_table(out)
    assert doc["quick"] and doc["ranks"] == 1
    assert all(math.isfinite(getattr(k, c)) and getattr(k, c) > 0
               for c in ("ewise", "reduce", "matmul", "sort", "plan_s", "step_s"))
    helped = subprocess.run([sys.executable, "-m", "lazyheat", "calibrate", "--help"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "--quick" in helped.stdout
