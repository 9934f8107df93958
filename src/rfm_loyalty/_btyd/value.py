"""Customer lifetime value from a purchase model and the Gamma-Gamma spend model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rfm_loyalty._btyd import checks
from rfm_loyalty._btyd.base import PurchaseModel
from rfm_loyalty._btyd.gammagamma import GammaGammaModel
from rfm_loyalty._validation import Real, Whole, check

#: The mean Gregorian month, 365.25 / 12 = 30.4375 days: the default month of
#: :func:`customer_lifetime_value`.
DAYS_PER_MONTH = 365.25 / 12
#: The month of the lifetimes and pymc-marketing packages for data in days
#: (their ``freq="D"``); for data in weeks they use 4.345 weeks (30.415 days).
LIFETIMES_DAYS_PER_MONTH = 30.0


def customer_lifetime_value(
    model: PurchaseModel,
    gamma_gamma: GammaGammaModel,
    data: pd.DataFrame,
    *,
    months: int = 12,
    discount_rate_monthly: float = 0.01,
    days_per_month: float = DAYS_PER_MONTH,
) -> pd.Series:
    """Discounted expected revenue of each customer over the next months.

    ``CLV = sum_{k=1..months} (E[X(k)] - E[X(k-1)]) * E[spend] / (1 + d)^k``,
    where ``E[X(k)]`` is the purchase model's expected purchases in the next
    ``k`` months (a month is ``days_per_month`` days, converted to the model's
    time unit with ``model.days_per_unit_``), ``E[spend]`` the Gamma-Gamma
    conditional expected spend and ``d`` the monthly discount rate: each
    month's revenue is discounted at the end of that month.

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        Fitted purchase model.
    gamma_gamma : GammaGammaModel
        Fitted spend model.
    data : pandas.DataFrame
        ``frequency, recency, T, monetary_value`` per customer, in the
        purchase model's time unit.
    months : int, default 12
        Horizon in months (>= 1).
    discount_rate_monthly : float, default 0.01
        Discount rate per month (>= 0); 0.01 is about 12.7% a year.
    days_per_month : float, default 30.4375
        Length of a month in days: 365.25 / 12 (``DAYS_PER_MONTH``), the mean
        calendar month. The lifetimes and pymc-marketing packages count 30
        days (``LIFETIMES_DAYS_PER_MONTH``) for data in days and 4.345 weeks
        for data in weeks; pass ``days_per_month=30`` to reproduce their
        figures on day-level data (12 months are then 360 days, not 365.25).

    Returns
    -------
    pandas.Series
        ``clv`` (float64, in the currency of ``monetary_value``), indexed like
        ``data``.

    Examples
    --------
    >>> from rfm_loyalty.btyd import BetaGeoModel, GammaGammaModel
    >>> from rfm_loyalty.datasets.simulate import simulate_btyd
    >>> data = simulate_btyd(3000, random_state=2)
    >>> bg = BetaGeoModel(time_unit="W").fit(data)
    >>> gg = GammaGammaModel().fit(data)
    >>> clv = customer_lifetime_value(bg, gg, data, months=12)
    >>> bool((clv >= 0).all()), clv.name
    (True, 'clv')
    >>> lifetimes_month = customer_lifetime_value(bg, gg, data, days_per_month=30)
    >>> bool((lifetimes_month <= clv).all())  # shorter months: less time to buy
    True
    """
    who = "customer_lifetime_value"
    if not isinstance(model, PurchaseModel) or not isinstance(gamma_gamma, GammaGammaModel):
        raise TypeError(
            f"{who} needs a purchase model (BetaGeoModel, ModifiedBetaGeoModel or "
            "ParetoNBDModel) and a GammaGammaModel; got "
            f"{type(model).__name__} and {type(gamma_gamma).__name__}."
        )
    months = check(months, Whole(minimum=1, example=12), name="months", owner=who)
    rate = check(discount_rate_monthly, Real(0.0, example=0.01), name="discount_rate_monthly",
                 owner=who, hint="pass e.g. discount_rate_monthly=0.01 (1% a month)")
    month = check(days_per_month, Real(0.0, closed="neither", example=30.4375),
                  name="days_per_month", owner=who)
    if not hasattr(model, "params_"):
        raise checks.not_fitted(model, who)
    if not hasattr(gamma_gamma, "params_"):
        raise checks.not_fitted(gamma_gamma, who)
    checks.frame_columns(data, ("frequency", "recency", "T", "monetary_value"), who,
                         "Build the table with btyd_summary(orders).")
    unit_months = month / model.days_per_unit_
    spend = gamma_gamma.conditional_expected_spend(data).to_numpy()
    previous = np.zeros(len(data))
    value = np.zeros(len(data))
    for k in range(1, months + 1):  # one vectorised step per month, not per customer
        cumulative = model.expected_purchases(k * unit_months, data).to_numpy()
        value += (cumulative - previous) / (1.0 + rate) ** k
        previous = cumulative
    return pd.Series(value * spend, index=data.index, name="clv")


