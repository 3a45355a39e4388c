"""Shape-polymorphic plans: a new shape of a known expression reuses its plan, resized.

The suite runs with ``planner.VERIFY_PASSES`` on, so every resized plan is also compared
with planning its sizes anew (``planner._check_resized``): these tests check when plans are
reused, and that values stay NumPy's.
"""

import numpy as np
import pytest

import lazyheat as lh
from lazyheat import planner
from lazyheat.passes import polymorph


@pytest.fixture(autouse=True)
def fresh_cache():
    planner.clear_plan_cache()
    yield
    planner.clear_plan_cache()


def first_probe(build, n=5):
    """The first probe size standing for the length of ``build(a)``'s input (probes depend
    on the graph's size, not on its constants)."""
    logical = lh.plan(*build(lh.array(np.ones(n))), stage="logical").outputs
    return polymorph.template(logical, (n,), (), planner.run_passes).probe[0]


def _resized():
    return planner.plan_cache_info()["resized"]


def test_new_shapes_of_an_expression_reuse_its_plan():
    for n in (11, 12, 40, 7, 1000):
        x = np.arange(float(n))
        a = lh.array(x)
        got = ((a * 2 + 1) - a).sum().item()
        assert got == pytest.approx(((x * 2 + 1) - x).sum())
    # the first shape is planned, the second proves the template, every later one reuses it
    info = planner.plan_cache_info()
    assert info["misses"] == 5 and info["resized"] == 4


def test_resized_plan_keeps_its_fused_group_and_counts():
    for n in (20, 30):
        a = lh.array(np.ones((n, 3)))
        lh.compute(lh.exp(a) * 2 - a)
    b = lh.array(np.ones((50, 3)))
    out = lh.exp(b) * 2 - b
    lh.compute(out)
    assert _resized() == 2  # the second shape and the third
    np.testing.assert_allclose(out.numpy(), np.exp(np.ones((50, 3))) * 2 - 1)


@pytest.mark.parametrize("axis", [0, 1, None])
def test_reductions_over_new_shapes(axis):
    rng = np.random.default_rng(0)
    for n, m in ((5, 7), (9, 4), (13, 6), (2, 3)):
        x = rng.standard_normal((n, m))
        a = lh.array(x)
        r = lh.compute(a.max(axis=axis), (a * a).mean(axis=axis), a.argmin(axis=axis))
        np.testing.assert_allclose(r[0].numpy(), x.max(axis=axis))
        np.testing.assert_allclose(r[1].numpy(), (x * x).mean(axis=axis))
        np.testing.assert_array_equal(r[2].numpy(), x.argmin(axis=axis))


def test_equal_dimensions_stay_equal_in_the_key():
    """(n, 1) + (1, m): n == m and n != m are two symbolic keys (broadcasting may rely on
    the equality), each correct."""
    for n, m in ((4, 4), (5, 5), (6, 6), (4, 7), (5, 8), (6, 9)):
        x, y = np.arange(float(n)).reshape(n, 1), np.arange(float(m)).reshape(1, m)
        out = lh.array(x) + lh.array(y)
        np.testing.assert_array_equal(out.numpy(), x + y)
    assert _resized() == 4  # two keys of three shapes each


def test_sizes_zero_and_one_are_not_symbols():
    key = lambda n: polymorph.symbolic(_entries(n), 1)  # noqa: E731
    assert key(5)[0] == key(9)[0] and key(5)[1] == (5,)
    assert key(1)[0] != key(5)[0] and key(0)[0] != key(1)[0]
    assert key(1)[1] == () and key(0)[1] == ()


def _entries(n):
    a = lh.array(np.ones(n))
    return planner._template([(a + 1)._node])[0][0]


def test_a_derived_size_keeps_the_plan_concrete():
    """A mean of split data over both axes divides the all-reduced sum by n * m: not a
    dimension, so the template is refused (that shape is planned per size)."""
    x = lh.zeros((40, 6), split=0, comm=lh.FakeComm(4))
    logical = lh.plan(x.mean(), stage="logical").outputs
    with pytest.raises(polymorph.NotPolymorphic, match="keeps a size"):
        polymorph.template(logical, (40, 6), (), planner.run_passes)
    logical = lh.plan(x.mean(0), stage="logical").outputs  # divides by n: a dimension
    assert polymorph.template(logical, (40, 6), (), planner.run_passes).probe[0] > 10


def test_a_constant_equal_to_a_probe_stays_a_constant():
    """Which integers of a plan are sizes is learned from the two probes' plans, not from
    values: a constant (or a position) equal to a probe size is never renamed."""
    c = first_probe(lambda a: (a * 2,))
    for n in (3, 4, 5, 6):
        x = np.arange(n)
        np.testing.assert_array_equal((lh.array(x) * c).numpy(), x * c)
    assert _resized() == 3


def test_ops_outside_the_polymorphic_set_plan_per_shape():
    for n in (6, 8, 10):
        x = np.arange(float(n))
        np.testing.assert_array_equal(lh.array(x).reshape(2, n // 2).numpy(),
                                      x.reshape(2, n // 2))
    assert _resized() == 0


def test_switch_off():
    planner.SHAPE_POLYMORPHIC = False
    try:
        for n in (5, 6, 7):
            lh.array(np.ones(n)).sum().item()
        assert _resized() == 0
    finally:
        planner.SHAPE_POLYMORPHIC = True


def test_template_resizes_fused_members_and_merge_counts():
    """The probe plan's sizes are renamed inside the nodes that attributes hold (a fused
    group's members) and in integer attributes equal to a size."""
    comm = lh.FakeComm(4)

    def planned(n):
        return lh.plan((lh.zeros((n, 3), split=0, comm=comm) * 2 + 1).mean(0)).outputs

    tmpl = polymorph.Template(planned(41), planned(43), (41,), (43,), (0,), [])
    assert polymorph.structure(tmpl.instantiate((80,))) == polymorph.structure(planned(80))


def test_many_inputs_are_resized_too():
    """A param's index (11 and up with many inputs) is no size: never renamed, so graphs
    of a dozen inputs reuse their plans."""
    for n in (30, 40, 50):
        xs = [np.arange(float(n)) + k for k in range(14)]
        total = lh.array(xs[0])
        for x in xs[1:]:
            total = total + lh.array(x)
        np.testing.assert_allclose(total.sum().item(), sum(xs).sum())
    assert _resized() == 2


def test_changing_sizes_of_communication_never_pay_for_a_template(monkeypatch):
    """On several ranks the sizes in a plan's collectives are exact: when they change at
    every call, no template is proven (two extra plannings each time); the second call
    with the same ones proves it."""
    proofs = []
    real = polymorph.template
    monkeypatch.setattr(polymorph, "template",
                        lambda *a: proofs.append(1) or real(*a))
    comm = lh.FakeComm(2)
    for n, m in ((40, 3), (50, 4), (60, 5), (70, 5), (80, 5)):
        planner._cached([lh.array(np.ones((n, m)), split=0, comm=comm).sum(0)])
    assert len(proofs) == 1  # at (70, 5): m = 5 seen before
    assert planner.plan_cache_info()["resized"] == 2
