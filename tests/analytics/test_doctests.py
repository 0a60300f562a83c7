"""The examples in the public docstrings run and give what they say."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from alliance.analytics import calibration, change, psychometrics


@pytest.mark.parametrize("module", [calibration, change, psychometrics], ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
