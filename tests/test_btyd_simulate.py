"""Tests of rfm_loyalty.datasets.simulate.simulate_btyd (BG/NBD and MBG/NBD customers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_loyalty.btyd import BetaGeoModel
from rfm_loyalty.datasets.simulate import simulate_btyd


def test_simulator_output() -> None:
    data = simulate_btyd(2_000, return_latent=True, random_state=3)
    assert list(data.columns) == ["frequency", "recency", "T", "monetary_value",
                                  "purchase_rate", "dropout_probability", "spend_scale",
                                  "is_alive"]
    assert data.index.name == "customer_id" and data.index.is_unique
    assert (data[["frequency", "recency", "T", "monetary_value"]].dtypes == "float64").all()
    assert ((data["recency"] <= data["T"]) & (data["T"].between(27, 39))).all()
    assert ((data["frequency"] == 0) == (data["monetary_value"] == 0)).all()
    assert ((data["frequency"] == 0) <= (data["recency"] == 0)).all()
    assert not data.loc[data["frequency"] == 0, "is_alive"].eq(False).any()
    pd.testing.assert_frame_equal(data, simulate_btyd(2_000, return_latent=True, random_state=3))
    rounded = simulate_btyd(500, round_times=True, T_min=10, T_max=400, random_state=3)
    assert (rounded[["recency", "T"]] % 1 == 0).all().all()


def test_rounded_simulation_is_a_btyd_summary_and_can_be_fitted() -> None:
    # The benchmark's data: whole days, as btyd_summary reports them. Purchases on the
    # first day merge into the first purchase, so no repeat buyer has recency 0 (which
    # BetaGeoModel.fit rightly rejects, and which made `make bench-btyd` fail).
    data = simulate_btyd(20_000, alpha=4.414 * 7, T_min=1, T_max=730, round_times=True,
                         random_state=20261125)
    repeat = data["frequency"] > 0
    assert (data.loc[repeat, "recency"] >= 1).all()
    assert (data["frequency"] <= data["recency"]).all()  # one repeat purchase day per day
    assert (data["recency"] <= data["T"]).all()
    assert ((data["monetary_value"] > 0) == repeat).all()
    model = BetaGeoModel(time_unit="D").fit(data)
    # rounding shortens times by half a day on average: a small bias, not a broken fit
    for name, value in {"r": 0.243, "alpha": 4.414 * 7, "a": 0.793, "b": 2.426}.items():
        assert model.params_[name] == pytest.approx(value, rel=0.15), name


def test_rounded_simulation_counts_distinct_days() -> None:
    # the same customers unrounded and rounded: rounding can only merge purchases
    exact = simulate_btyd(5000, alpha=3.0, T_min=5, T_max=40, random_state=4)
    rounded = simulate_btyd(5000, alpha=3.0, T_min=5, T_max=40, round_times=True,
                            random_state=4)
    assert (rounded["frequency"] <= exact["frequency"]).all()
    assert (rounded["frequency"] < exact["frequency"]).any()
    np.testing.assert_array_equal(rounded["T"], np.floor(exact["T"]))


def test_simulator_errors() -> None:
    with pytest.raises(ValueError, match=r"n_customers must be a whole number >= 1; got 0"):
        simulate_btyd(0)
    with pytest.raises(ValueError, match=r"alpha must be a finite number > 0; got -1"):
        simulate_btyd(10, alpha=-1)
    with pytest.raises(ValueError, match=r"model must be 'bgnbd' or 'mbgnbd'; got 'pareto'"):
        simulate_btyd(10, model="pareto")
    with pytest.raises(ValueError, match=r"need 0 <= T_min <= T_max; got T_min=5, T_max=3"):
        simulate_btyd(10, T_min=5, T_max=3)
