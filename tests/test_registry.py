"""The op registry: every op has every piece it needs, in every layer, and the new ops'
plans have the structure their definitions promise (collectives, bytes)."""

import ast
from pathlib import Path

import pytest
import torch

import lazyheat as lh
from lazyheat.graph import ops, topo_order
from lazyheat.graph.commcost import state_cost
from lazyheat.graph.elementwise import EWISE
from lazyheat.graph.reduce import REDUCTIONS
from lazyheat.graph.registry import Group, OpDef, register
from lazyheat.passes.lower import LOWERINGS
from lazyheat.runtime.kernels import KERNELS
from lazyheat.runtime.kernels.reduce import REDUCE_KERNELS

# ops the passes create (physical plan structure); everything else is built by the API
PASS_BUILT = {"param", "exscan", "reduce_partial", "reduce_merge", "moments_final",
              "moments_combine",
              "allreduce", "allgather", "batch_allgather", "allreduce_state",
              "batch_allreduce", "reduce_scatter", "unbatch", "fused", "scan_carry",
              "scan_add", "tsqr_rlocal", "tsqr_merge", "tsqr_q", "hsvd_local", "hsvd_merge"}


def test_every_op_has_a_kernel_and_nothing_else_has_one():
    assert sorted(set(ops.OPS) - set(KERNELS)) == []
    assert sorted(set(KERNELS) - set(ops.OPS)) == []


def test_every_op_the_api_builds_has_a_lowering_and_layout_rules():
    for name, d in ops.OPS.items():
        if name in PASS_BUILT:
            continue
        assert name in LOWERINGS, f"{name} has no lowering"
        if d.group is not Group.LEAF and name != "redistribute":
            assert d.needs is not None, f"{name} has no input-layout rule"
            if not d.data_dependent:
                assert d.infer is not None and d.layout is not None, name
    assert sorted(set(LOWERINGS) - set(ops.OPS)) == []


def test_collectives_have_comm_rules_and_groups_partition_the_ops():
    for name in ops.COLLECTIVES:
        assert ops.OPS[name].comm is not None
    groups = [ops.names_in(g) for g in Group]
    assert sum(len(g) for g in groups) == len(ops.OPS)


def test_every_reduction_has_its_kernels_and_public_ones_a_function_and_method():
    for fn, r in REDUCTIONS.items():
        k = REDUCE_KERNELS[fn]
        assert k.local is not None and k.partial is not None, fn
        assert (k.merge is not None) == r.merge or fn == "moments", fn
        if r.public:
            assert callable(getattr(lh, fn)) and callable(getattr(lh.LazyArray, fn)), fn


def test_every_elementwise_op_has_a_torch_function_or_its_own_kernel():
    for name, e in EWISE.items():
        if e.torch is not None:
            assert callable(getattr(torch, e.torch)), name
        if name != "astype":
            assert callable(getattr(lh, name)), name


def test_an_op_is_defined_once_and_a_collective_needs_a_comm_rule():
    with pytest.raises(ValueError, match="defined twice"):
        register(OpDef("add", Group.ELEMENTWISE))
    with pytest.raises(ValueError, match="CommRule"):
        register(OpDef("new_collective", Group.COLLECTIVE))


def test_passes_runtime_and_printers_keep_no_lists_of_op_names():
    """Outside the IR, no literal tuple, set or list names two or more ops: passes, the
    runtime and the printers ask the registry for a group instead."""
    pkg = Path(lh.__file__).parent
    files = sorted((pkg / "passes").rglob("*.py")) + sorted((pkg / "runtime").rglob("*.py"))
    files += [pkg / "explain.py", pkg / "_plan.py", pkg / "planner.py"]
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Tuple, ast.Set, ast.List)):
                names = [e.value for e in node.elts
                         if isinstance(e, ast.Constant) and e.value in ops.OPS]
                if len(names) >= 2:
                    found.append(f"{path.relative_to(pkg)}:{node.lineno} {names}")
    assert found == []


# ---------------------------------------------------------------- plans of the new ops
def _comms(y):
    order = topo_order(lh.plan(y).outputs)
    return [(n.op, lh.planner.comm_bytes(n)) for n in order if n.op in ops.COLLECTIVES]


@pytest.mark.parametrize("p", [2, 3, 64])
def test_cumsum_along_the_split_axis_gathers_one_slice_per_rank(p):
    x = lh.random.randn(1000, 8, split=0, seed=1, comm=lh.FakeComm(p))
    assert _comms(lh.cumsum(x, axis=0)) == [("allgather", 8 * 4 * (p - 1))]
    assert _comms(lh.cumsum(x, axis=1)) == []  # along a kept axis: block-local


@pytest.mark.parametrize("p", [2, 4])
def test_ptp_all_reduces_min_max_pairs(p):
    x = lh.random.randn(100, 8, split=0, seed=1, comm=lh.FakeComm(p))
    pair = 2 * 8 * 4  # (min, max) of 8 float32 columns
    # the other rank's pair on 2 ranks; on 4, one pair in each of 2 rounds of doubling
    algo, got = ("allgather", pair) if p == 2 else ("doubling", 2 * pair)
    assert _comms(lh.ptp(x, axis=0)) == [("allreduce_state", got)]
    assert got == state_cost(pair, p, algo).bytes
    assert f"allreduce[ptp state] ({algo})" in lh.explain(lh.ptp(x, axis=0))
    assert _comms(lh.ptp(x, axis=1)) == []


def test_logaddexp_fuses_like_any_elementwise_op():
    x = lh.random.randn(100, 8, split=0, seed=1, comm=lh.FakeComm(4))
    t = lh.plan(lh.logaddexp(x * 2, x).sum()).totals()
    assert t["fused_kernels"] == 1 and t["fused_ops"] == 2 and t["collectives"] == 1


def test_a_state_is_typed_and_its_bytes_come_from_its_aval():
    x = lh.random.randn(100, 8, split=0, seed=1, comm=lh.FakeComm(4))
    order = topo_order(lh.plan(x.argmax(0)).outputs)
    part = next(n for n in order if n.op == "reduce_partial")
    combined = next(n for n in order if n.op == "allreduce_state")
    assert part.aval.names == ("value", "index") and part.aval.nbytes == 8 * (4 + 8)
    # the combined state is typed like a rank's (no rank axis)
    assert combined.aval == part.aval and combined.aval.part("index").shape == (8,)
    # by recursive doubling on 4 ranks: a whole state received in each of 2 rounds
    assert combined.attr("algorithm") == "doubling"
    assert lh.planner.comm_bytes(combined) == part.aval.nbytes * 2
