"""The examples in lib/'s docstrings, run as tests: each module with
examples is one test, which fails when any of its examples does."""

import doctest
import importlib
import pkgutil

import pytest

from odoo.addons.integration_gateway import lib


def _modules_with_examples():
    finder = doctest.DocTestFinder()
    names = []
    for info in pkgutil.walk_packages(lib.__path__, lib.__name__ + "."):
        module = importlib.import_module(info.name)
        if any(test.examples for test in finder.find(module)):
            names.append(info.name)
    return names


MODULES = _modules_with_examples()


def test_the_outbox_is_specified_by_examples():
    outbox = [name for name in MODULES if ".outbox." in name]
    assert {name.rsplit(".", 1)[1] for name in outbox} >= {
        "breaker",
        "delivery",
        "flight",
        "endpoint",
        "pacing",
        "retry",
    }


@pytest.mark.parametrize("name", MODULES)
def test_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True)
    assert result.failed == 0, f"{result.failed} example(s) of {name} failed"
