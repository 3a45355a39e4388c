"""Layering: the graph layer is pure Python; passes never reach into the runtime.

lazyheat.graph   - no torch, no mpi4py, no passes, no runtime
lazyheat.passes  - no runtime
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
