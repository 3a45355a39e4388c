"""Layering: the graph layer is pure Python; passes never reach into the runtime; the
package's module import graph has no cycle.

lazyheat.graph    - no torch, no mpi4py, no passes, no runtime, no public API
lazyheat.passes   - no runtime, no public API
lazyheat.runtime  - no passes, no public API
every module      - imports (top-level and inside functions alike) form an acyclic graph
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "lazyheat"


def _sources(layer: str) -> list[Path]:
    pkg_dir = PKG / layer
    if pkg_dir.is_dir():
        return sorted(pkg_dir.rglob("*.py"))
    module = PKG / f"{layer}.py"
    if module.is_file():
        return [module]
    pytest.fail(f"lazyheat/{layer} not found (expected a package or module)")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of everything ``path`` imports, including ``from X import Y``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    this = _module_name(path)
    is_pkg = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = this.split(".")
                drop = node.level - 1 if is_pkg else node.level
                base = base[: len(base) - drop] if drop else base
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _hits(names: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names for f in forbidden if n == f or n.startswith(f + "."))


def _violations(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in _sources(layer):
        for name in _hits(imported_modules(path), forbidden):
            out.append(f"{path.relative_to(PKG.parent)} imports {name}")
    return out


def test_graph_has_no_torch_or_mpi():
    assert _violations("graph", ("torch", "mpi4py")) == []


def test_graph_does_not_import_passes_or_runtime():
    assert _violations("graph", ("lazyheat.passes", "lazyheat.runtime")) == []


def test_passes_do_not_import_runtime():
    assert _violations("passes", ("lazyheat.runtime",)) == []


def test_import_resolution_helper(tmp_path):
    pkg = tmp_path / "lazyheat" / "graph"
    pkg.mkdir(parents=True)
    src = pkg / "node.py"
    src.write_text(
        "import torch.nn\nfrom ..runtime import executor\nfrom . import dtypes\n"
        "from .. import passes\nimport numpy as np\n"
    )
    global PKG
    saved, PKG = PKG, tmp_path / "lazyheat"
    try:
        names = imported_modules(src)
    finally:
        PKG = saved
    assert _hits(names, ("torch",)) == ["torch.nn"]
    assert "lazyheat.runtime" in names and "lazyheat.runtime.executor" in names
    assert "lazyheat.graph.dtypes" in names
    assert "lazyheat.passes" in names
    assert not _hits(names, ("mpi4py",))


def test_runtime_does_not_import_passes():
    assert _violations("runtime", ("lazyheat.passes",)) == []


_API = tuple(f"lazyheat.{p.stem}" for p in sorted(PKG.glob("*.py")) if p.stem != "__init__")


@pytest.mark.parametrize("layer", ["graph", "passes", "runtime"])
def test_lower_layers_do_not_import_the_public_api(layer):
    assert _violations(layer, _API) == []


ALGORITHMS = ["cluster", "classification", "decomposition", "naive_bayes", "preprocessing",
              "regression", "spatial"]


@pytest.mark.parametrize("package", ALGORITHMS)
def test_algorithm_packages_sit_on_the_public_api(package):
    """Estimators use lazyheat's public API only: what they need from the core is a public
    primitive (``nearest_centers``, ``bincount``, ``linalg.tsqr``, ...), never IR nodes,
    passes or runtime internals."""
    assert _violations(package, ("lazyheat.graph", "lazyheat.passes",
                                 "lazyheat.runtime", "mpi4py")) == []


def module_graph() -> dict[str, set[str]]:
    """``module -> modules of lazyheat it imports``. ``from X import Y`` depends on the
    module ``X.Y`` when there is one, else on ``X`` (a name defined in X's ``__init__``), so
    a submodule taking a name from its own package's ``__init__`` is the cycle it is."""
    modules = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve_from(name, path, node)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    deps.add(t)
        graph[name] = deps
    return graph


def _resolve_from(this: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = this.split(".")
    drop = node.level - 1 if path.name == "__init__.py" else node.level
    base = base[: len(base) - drop] if drop else base
    return ".".join(base + ([node.module] if node.module else []))


def _find_cycle(graph) -> list[str]:
    """One cycle of ``graph`` (a list of modules), or [] (iterative DFS, sorted order)."""
    state, stack_path = {}, []
    for start in sorted(graph):
        if start in state:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        state[start] = "open"
        stack_path.append(start)
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = "done"
                stack.pop()
                stack_path.pop()
            elif state.get(nxt) == "open":
                return stack_path[stack_path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = "open"
                stack_path.append(nxt)
                stack.append((nxt, iter(sorted(graph[nxt]))))
    return []


def test_module_import_graph_is_acyclic():
    cycle = _find_cycle(module_graph())
    assert cycle == [], " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) == []
