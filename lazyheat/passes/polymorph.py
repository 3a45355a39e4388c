"""Shape-polymorphic plans: one plan for every size of an expression whose plan does not
depend on its sizes.

The plan cache keys a graph by its template (ops, attributes, avals). ``symbolic`` turns
that key into a *symbolic* one: every dimension of 2 or more becomes a symbol, numbered by
first appearance of its value, so dimensions that are equal stay equal (broadcasting may
rely on it) and 0 and 1 stay concrete (empty arrays and broadcasting behave differently);
the order of the symbols' values is part of the key. A split dimension stays concrete when
its blocks could be smaller than 2 rows (fewer than 2p), and unbalanced counts make a graph
ineligible; balanced counts are recomputed from the new extent. Only ops whose plans are
free of sizes take part: elementwise functions, reductions and transposes (``POLY_OPS``),
plus matmul and scans on one rank, where nothing is communicated.

On several ranks the planner prices communication by its bytes (batching, a state's
all-reduce algorithm, where an all-reduce goes), so the sizes that appear in a plan's
collectives, and those of its replicated values (the places an all-reduce could go), are
*exact* (``exact_symbols``): a plan is reused only for equal values of them. The rest,
typically the rows of split data, are free: a working set that shrinks or grows reuses its
plan.

``template`` proves a plan polymorphic before it is reused: it plans the graph at two probe
sizes (distinct primes standing for the free symbols, in the order of their values) and
walks the two plans side by side (``Template``): same ops and wiring, avals equal up to
the probe dimensions, attributes equal except integers that are the probe sizes
themselves, which are learned to be sizes (a mean's divisor). A plan that keeps a derived
size (a product of dimensions, a reciprocal) fails the check and is always planned for its
concrete shape.
``Template.instantiate`` then renames the probe plan's dimensions to a call's sizes: a new
shape of a known expression costs one walk over the plan's nodes instead of the pass
pipeline.
"""

from __future__ import annotations

from ..graph import Node, TupleAval, topo_order
from ..graph.aval import Aval
from ..graph.collectives import state_parts, state_splittable
from ..graph.commcost import state_algorithm
from ..graph.layout import balanced_counts
from ..graph.ops import COLLECTIVES, OPS, RESIZABLE

# logical ops whose plans depend on sizes only through the dimensions of their avals (the
# registry's ``resizable``), and those that do so on one rank, where nothing is communicated
POLY_OPS = RESIZABLE
POLY_OPS_ONE_RANK = POLY_OPS | {n for n, d in OPS.items() if d.resizable == "one_rank"}
# collectives a resized plan may hold: their form follows from layouts, and from bytes that
# are exact in the key (an allreduce_state's algorithm is checked again by ``instantiate``)
POLY_COLLECTIVES = frozenset(n for n in COLLECTIVES if OPS[n].comm.resizable)


class NotPolymorphic(Exception):
    """A plan that cannot be resized (``instantiate`` or ``template`` found a reason)."""


def symbolic(entries, p: int):
    """(symbolic key, the value of each symbol) of a plan template key's ``entries`` on
    ``p`` ranks, or None when the graph holds an op outside ``POLY_OPS`` (or a state, an
    unbalanced split). Entries are the planner's: ``("$", param, struct)`` for data,
    ``(op, attrs, struct, inputs)`` for the rest, struct being ``Aval.struct()``."""
    allowed = POLY_OPS if p > 1 else POLY_OPS_ONE_RANK
    concrete = {0, 1}
    for e in entries:
        if e[0] != "$" and e[0] not in allowed or e[2][0] == "tuple":
            return None
        shape, _, split, counts, _ = e[2]
        if split is not None:
            n = shape[split]
            if counts != balanced_counts(n, p):
                return None
            if n < 2 * p:  # blocks of 0 or 1 rows: kept as they are
                concrete.add(n)
    symbol, values, out = {}, [], []
    for e in entries:
        shape, dtype, split, counts, device = e[2]
        dims = []
        for d in shape:
            if d in concrete:
                dims.append(d)
                continue
            k = symbol.get(d)
            if k is None:
                k = symbol[d] = len(values)
                values.append(d)
            dims.append(("n", k))
        struct = (tuple(dims), dtype, split, None if split is None else "balanced", device)
        out.append((e[0], e[1], struct) + tuple(e[3:]))
    # the order of the sizes is part of the key: plans may compare dimensions (which of
    # two states is smaller), and probes keep the order of the sizes they stand for
    rank = tuple(sorted(range(len(values)), key=values.__getitem__))
    return (tuple(out), p, rank), tuple(values)


def exact_symbols(physical, values: tuple) -> tuple:
    """The symbols (indices into ``values``) that size some communication of the plan
    ``physical`` made for ``values``: the planner prices collectives by their bytes (batching,
    a state's algorithm, where an all-reduce goes), so a plan is reused for other values of
    these only when they are equal. In a plan that communicates, that is every size of a
    collective or of a replicated value. Sizes that stay local (rows of split data) are
    free."""
    where = {v: k for k, v in enumerate(values)}
    found, replicated, communicates = set(), set(), False
    for n in walk(physical):
        collective = n.op in COLLECTIVES
        communicates |= collective
        for a in _leaves(n.aval):
            dims = [where[d] for d in a.shape if d in where]
            if collective:
                found.update(dims)
            elif a.split is None:
                replicated.update(dims)
    # Where an all-reduce of partial sums goes is chosen by comparing the bytes of the
    # replicated values it could be placed at (``passes/partial.py``), the ones it was not
    # placed at included: a plan that communicates keeps every size of a replicated value
    # exact, so that choice is the same at the probes as at the call's sizes.
    if communicates:
        found |= replicated
    return tuple(sorted(found))


def _leaves(a) -> list:
    """The array avals of ``a`` (the parts of a tuple, nested ones too)."""
    if isinstance(a, TupleAval):
        return [x for part in a.parts for x in _leaves(part)]
    return [a]


def probes(values: tuple, exact: tuple, p: int) -> tuple:
    """Two tuples of sizes, one per symbol, that stand for ``values`` when a template is
    proven: ``exact`` symbols keep their values; every other symbol gets a distinct prime
    above 10 and 2p, different in the two tuples, in the order of the values they stand
    for (so comparisons between dimensions go the same way). Raises ``NotPolymorphic``
    when primes do not fit between the exact values."""
    first, second = list(values), list(values)
    floor, least = 0, max(2 * p, 10)
    for k in sorted(range(len(values)), key=values.__getitem__):
        if k in exact:
            if values[k] <= floor:
                raise NotPolymorphic("no probe sizes fit between its fixed sizes")
            floor = values[k]
            continue
        first[k] = _next_prime(max(floor, least))
        second[k] = floor = _next_prime(first[k])
    return tuple(first), tuple(second)


def _next_prime(n: int) -> int:
    n += 1
    while any(n % q == 0 for q in range(2, int(n ** 0.5) + 1)):
        n += 1
    return n


def resize(outputs, dims: dict, p: int) -> list:
    """The graph of ``outputs`` with every dimension ``d`` in ``dims`` renamed ``dims[d]``
    (balanced counts recomputed), inside the nodes that attributes hold too (a fused
    group's members); attributes are kept as they are (a logical graph's hold no sizes).
    Raises ``NotPolymorphic`` for an unbalanced split it cannot recompute."""
    avals: dict = {}

    def aval_of(a):
        got = avals.get(id(a))
        if got is not None:
            return got[1]
        if isinstance(a, TupleAval):
            new = TupleAval(tuple([aval_of(x) for x in a.parts]), a.names)
        else:
            shape = tuple([dims.get(d, d) for d in a.shape])
            counts = a.counts
            if a.split is not None:
                if counts != balanced_counts(a.shape[a.split], p):
                    raise NotPolymorphic("an unbalanced split")
                counts = balanced_counts(shape[a.split], p)
            new = Aval(shape, a.dtype, a.split, counts, a.device, a.comm)
        avals[id(a)] = (a, new)  # the old aval held: its id is not reused meanwhile
        return new

    new_of: dict = {}

    def value(v):
        t = type(v)
        if t is Node:
            return new_of[id(v)]
        if t is tuple:
            return tuple([value(x) for x in v])
        return v

    for n in walk(outputs):
        new_of[id(n)] = Node(n.op, tuple([new_of[id(i)] for i in n.inputs]),
                             tuple([(k, value(v)) for k, v in n.attrs]), aval_of(n.aval),
                             n.loc)
    return [new_of[id(o)] for o in outputs]


def walk(outputs) -> list:
    """Every node reachable from ``outputs`` through inputs and through the nodes that
    attributes hold (a fused group's members and closer), dependencies first."""
    return topo_order(outputs, _deps)


def _deps(n) -> list:
    deps = list(n.inputs)
    for _, v in n.attrs:
        _nodes_in(v, deps)
    return deps


def _nodes_in(v, into) -> None:
    if type(v) is Node:
        into.append(v)
    elif type(v) is tuple:
        for x in v:
            _nodes_in(x, into)


def structure(outputs) -> tuple:
    """A key equal for two graphs exactly when they have the same ops, attributes (nodes in
    attributes by position, floats by their bits), avals and wiring."""
    order = walk(outputs)
    pos = {id(n): k for k, n in enumerate(order)}

    def attr(v):
        t = type(v)
        if t is Node:
            return ("@", pos[id(v)])
        if t is tuple:
            return tuple([attr(x) for x in v])
        if t is float:
            return ("f", v.hex())
        if t is complex:
            return ("c", v.real.hex(), v.imag.hex())
        return (t.__name__, v) if t in (int, bool) else v

    return tuple((n.op, tuple([(k, attr(v)) for k, v in n.attrs]), n.aval.struct(),
                  tuple([pos[id(i)] for i in n.inputs])) for n in order), \
        tuple(pos[id(o)] for o in outputs)


def template(logical, values: tuple, exact: tuple, plan) -> Template:
    """The physical plan of ``logical`` made at probe sizes, once proven polymorphic, for
    symbols of ``values`` (the call's sizes; ``exact`` ones fixed, see ``exact_symbols``).
    ``plan(outputs)`` runs the pass pipeline ((outputs, notes)). Raises ``NotPolymorphic``
    when the plans at the two probes differ by more than their dimensions, or hold a
    collective whose form depends on more than layouts."""
    p = logical[0].aval.comm.size
    free = tuple(k for k in range(len(values)) if k not in exact)
    first, second = probes(values, exact, p)
    plans = []
    for probe in (first, second):
        dims = {values[k]: probe[k] for k in free}
        plans.append(plan(resize(logical, dims, p)))
    (one, notes), (two, _) = plans
    for n in walk(one):
        if n.op in COLLECTIVES and n.op not in POLY_COLLECTIVES:
            raise NotPolymorphic(f"its plan holds {n.op}, chosen by bytes")
    return Template(one, two, first, second, free, notes)


class Template:
    """A proven plan made at probe sizes, compiled for resizing: per node (in ``walk``
    order) its op, input positions, attributes (as they are, or a recipe when they hold
    nodes or sizes), aval recipe and source line. ``instantiate(values)`` builds the plan
    for the sizes ``values`` in one pass over that list.

    It is made from the plans ``one`` and ``two`` of the same graph at the probe sizes
    ``first`` and ``second`` (symbols ``free`` differ, the others are equal), walked side
    by side: they must have the same ops and wiring, avals equal up to renaming the probe
    dimensions, and attributes equal except integers that are the probe sizes themselves
    (``first[k]`` in one where ``second[k]`` is in two: a size, renamed when resized).
    Anything else (a product of sizes, a reciprocal, a choice that flips) raises
    ``NotPolymorphic``. Which integers are sizes is learned from the difference, never
    guessed from values: a constant or a position that happens to equal a probe stays."""

    __slots__ = ("steps", "outputs", "avals", "states", "notes", "p", "probe",
                 "communicates")

    def __init__(self, one, two, first: tuple, second: tuple, free: tuple, notes):
        o1, o2 = walk(one), walk(two)
        pos1 = {id(n): k for k, n in enumerate(o1)}
        pos2 = {id(n): k for k, n in enumerate(o2)}
        if len(o1) != len(o2) or [pos1[id(o)] for o in one] != [pos2[id(o)] for o in two]:
            raise NotPolymorphic("its plan keeps a size beyond the dimensions")
        sym = {first[k]: k for k in free}  # the sizes renamed (exact ones stay)
        self.p = p = one[0].aval.comm.size
        self.probe, self.notes = first, list(notes)
        self.avals, seen, steps = [], {}, []
        for n, m in zip(o1, o2):
            if n.op != m.op or [pos1[id(i)] for i in n.inputs] != \
                    [pos2[id(i)] for i in m.inputs]:
                raise NotPolymorphic("its plan keeps a size beyond the dimensions")
            a = seen.get(id(n.aval))
            if a is None:
                a = seen[id(n.aval)] = len(self.avals)
                self.avals.append(_aval_recipe(n.aval, sym))
            if _aval_from(self.avals[a], second, p).struct() != m.aval.struct():
                raise NotPolymorphic("its plan keeps a size beyond the dimensions")
            recipe = _attr_recipe(n.attrs, m.attrs, sym, second, pos1, pos2)
            steps.append((n.op, tuple([pos1[id(i)] for i in n.inputs]),
                          n.attrs if recipe is None else recipe, recipe is not None, a, n.loc))
        self.steps = tuple(steps)
        self.outputs = tuple(pos1[id(o)] for o in one)
        self.states = tuple(k for k, n in enumerate(o1) if n.op == "allreduce_state")
        self.communicates = any(n.op in COLLECTIVES for n in o1)

    def instantiate(self, values: tuple) -> list:
        """The plan for sizes ``values`` (one per symbol). Raises ``NotPolymorphic`` where
        a state's all-reduce algorithm would change with the new bytes."""
        p = self.p
        avals = [_aval_from(r, values, p) for r in self.avals]
        built = []
        for op, ins, attrs, recipe, a, loc in self.steps:
            if recipe:
                attrs = tuple([(k, _resolve(v, values, built)) for k, v in attrs])
            built.append(Node(op, tuple([built[i] for i in ins]), attrs, avals[a], loc))
        for k in self.states:
            n = built[k]
            a = n.aval
            if state_algorithm(a.nbytes, p, state_splittable(a),
                               state_parts(a)[1]) != n.attr("algorithm"):
                raise NotPolymorphic("a state's all-reduce algorithm changes")
        return [built[k] for k in self.outputs]


def _aval_recipe(a, sym):
    """("tuple", part recipes, names), ("fixed", aval) when no dimension is a symbol, or
    ("dims", dims with symbols as ("n", k), aval)."""
    if isinstance(a, TupleAval):
        return ("tuple", tuple([_aval_recipe(x, sym) for x in a.parts]), a.names)
    if not any(d in sym for d in a.shape):
        return ("fixed", a)
    if a.split is not None and a.counts != balanced_counts(a.shape[a.split], a.comm.size):
        raise NotPolymorphic("an unbalanced split")
    return ("dims", tuple([("n", sym[d]) if d in sym else d for d in a.shape]), a)


def _aval_from(r, values, p):
    kind = r[0]
    if kind == "fixed":
        return r[1]
    if kind == "tuple":
        return TupleAval(tuple([_aval_from(x, values, p) for x in r[1]]), r[2])
    a = r[2]
    shape = tuple([values[d[1]] if type(d) is tuple else d for d in r[1]])
    counts = None if a.split is None else balanced_counts(shape[a.split], p)
    return Aval(shape, a.dtype, a.split, counts, a.device, a.comm)


class _Ref:
    """In an attribute recipe: the node at position ``k``, a size (symbol ``k``), or a tuple
    holding either (``items``)."""

    __slots__ = ("kind", "k")

    def __init__(self, kind, k):
        self.kind, self.k = kind, k


def _attr_recipe(attrs, other, sym, second, pos, pos_other):
    """None when ``attrs`` (of a node in the first probe's plan) equal ``other`` (the same
    node's in the second's) and hold no node; else them with nodes, sizes and the tuples
    holding either as ``_Ref``s. Raises ``NotPolymorphic`` where they differ otherwise."""
    def mark(v, w):
        t = type(v)
        if t is not type(w):
            raise NotPolymorphic("its plan keeps a size beyond the dimensions")
        if t is Node:
            if pos[id(v)] != pos_other[id(w)]:
                raise NotPolymorphic("its plan keeps a size beyond the dimensions")
            return _Ref("node", pos[id(v)])
        if t is tuple:
            if len(v) != len(w):
                raise NotPolymorphic("its plan keeps a size beyond the dimensions")
            items = tuple([mark(x, y) for x, y in zip(v, w)])
            return v if all(map(lambda x, y: x is y, items, v)) else _Ref("tuple", items)
        if t is int:
            if v == w:
                return v
            k = sym.get(v)  # a size: the first probe's here, the second's there
            if k is None or second[k] != w:
                raise NotPolymorphic("its plan keeps a size beyond the dimensions")
            return _Ref("size", k)
        if t is float or t is complex:  # by their bits: 0.0 and -0.0 differ
            if _bits(v) != _bits(w):
                raise NotPolymorphic("its plan keeps a size beyond the dimensions")
            return v
        if v is not w and v != w:
            raise NotPolymorphic("its plan keeps a size beyond the dimensions")
        return v

    if len(attrs) != len(other) or any(a[0] != b[0] for a, b in zip(attrs, other)):
        raise NotPolymorphic("its plan keeps a size beyond the dimensions")
    out = tuple([(k, mark(v, w)) for (k, v), (_, w) in zip(attrs, other)])
    return None if all(map(lambda x, y: x[1] is y[1], out, attrs)) else out


def _bits(v) -> tuple:
    return (v.hex(),) if type(v) is float else (v.real.hex(), v.imag.hex())


def _resolve(v, values, built):
    if type(v) is not _Ref:
        return v
    if v.kind == "node":
        return built[v.k]
    if v.kind == "size":
        return values[v.k]
    return tuple([_resolve(x, values, built) for x in v.k])
