"""Test-session settings shared by the doctests and the test suite."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    """Doctests see pd and np, and print tables at a fixed, wide width."""
    doctest_namespace["pd"] = pd
    doctest_namespace["np"] = np
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        yield
