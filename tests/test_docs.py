"""The examples in lazyheat's docstrings run and print what they show (one rank)."""

import doctest
import importlib
import pkgutil

import pytest

import lazyheat

MODULES = sorted(m.name for m in pkgutil.walk_packages(lazyheat.__path__, "lazyheat.")
                 if m.name != "lazyheat.__main__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, globs={"lh": lazyheat, "lazyheat": lazyheat}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
