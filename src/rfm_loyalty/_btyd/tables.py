"""Model inputs built from orders: discrete opportunities, cohort survivors, holdouts, tracking.

Every function reads the orders once (vectorised over order rows) and counts a
purchase as :func:`rfm_loyalty.summary.btyd_summary` does: an order with a
positive net amount, on its calendar day.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._btyd.base import PurchaseModel
from rfm_loyalty._ingest.dates import as_date
from rfm_loyalty._validation import Choice, Days, check, require_columns
from rfm_loyalty.exceptions import SchemaError
from rfm_loyalty.orders import Orders, as_orders
from rfm_loyalty.summary import btyd_summary

#: Calendar periods the period-based helpers accept (pandas aliases).
CALENDAR_PERIODS = ("Y", "Q", "M", "W")


def _purchase_days(orders: Orders) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Distinct (customer code, day number) purchase pairs and the customer ids."""
    frame = orders.frame
    if orders.customer_codes is not None and orders.customer_index is not None:
        codes, ids = orders.customer_codes, orders.customer_index
    else:
        codes, ids = pd.factorize(frame["customer_id"], sort=True)
    buy = frame["is_purchase"].to_numpy(dtype=bool)
    day = frame["order_date"].to_numpy().astype("datetime64[D]").astype(np.int64)[buy]
    code = np.asarray(codes)[buy].astype(np.int64)
    low = int(day.min()) if day.size else 0
    span = int(day.max()) - low + 1 if day.size else 1
    pairs = pd.unique(code * span + (day - low))  # one per customer and purchase day
    return np.asarray(pairs // span), np.asarray(pairs % span) + low, pd.Index(ids)


def _day_number(date: pd.Timestamp) -> int:
    return int(date.to_datetime64().astype("datetime64[D]").astype(np.int64))


def _periods_of(days: np.ndarray, period: str) -> np.ndarray:
    """Period ordinals (pandas' ``Period.ordinal``) of day numbers."""
    dates = pd.to_datetime(days.astype("datetime64[D]"))
    return np.asarray(pd.PeriodIndex(dates, freq=period).asi8, dtype=np.int64)


def _last_complete_period(as_of: pd.Timestamp, period: str) -> int:
    current = pd.Period(as_of, freq=period)
    return int(current.ordinal) if as_of.normalize() == current.end_time.normalize() else int(
        current.ordinal) - 1


def opportunity_summary(
    orders: Orders | pd.DataFrame, *, period: int | str, as_of: Any = None
) -> pd.DataFrame:
    """Return the (frequency, recency, n_periods) table of the BG/BB model.

    Time is cut into purchase opportunities; a customer buys at an
    opportunity or not (several purchases in one count once). The period
    that holds a customer's first purchase is their period 0 and is not an
    opportunity; opportunities 1, 2, ..., ``n_periods`` are the complete
    periods after it up to ``as_of``. Purchases in the last, incomplete
    period are not counted.

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
        Prepared orders, or order lines with the canonical column names.
    period : int or {"Y", "Q", "M", "W"}
        An int: opportunities of that many days counted from each
        customer's first purchase day (period 0 is the first ``period``
        days). A calendar alias: calendar years, quarters, months or weeks
        (pandas periods); period 0 is the calendar period of the first
        purchase, like the yearly cohorts of donors of Fader, Hardie & Shang
        (2010).
    as_of : date-like, optional
        Analysis date; default ``orders.as_of``.

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id``; columns ``frequency`` (opportunities with a
        purchase), ``recency`` (the last of them, 0 without one) and
        ``n_periods`` (opportunities observed, 0 for a customer whose first
        purchase is in the last incomplete period), all float64. ``attrs``
        holds ``as_of`` and ``period``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "c"],
    ...                       "order_date": ["2020-03-01", "2021-05-01", "2021-06-01",
    ...                                      "2022-02-01", "2023-12-31"],
    ...                       "amount": [10.0, 5.0, 5.0, 8.0, 4.0]})
    >>> opportunity_summary(frame, period="Y")  # as of 2023-12-31: years 2021-2023 complete
                 frequency  recency  n_periods
    customer_id
    a                  1.0      1.0        3.0
    b                  0.0      0.0        1.0
    c                  0.0      0.0        0.0
    """
    who = "opportunity_summary"
    if isinstance(period, str):
        check(period, Choice(*CALENDAR_PERIODS, example="Y"), name="period", owner=who)
    else:
        check(period, Days(example=7), name="period", owner=who,
              hint='pass e.g. period=7 (days) or period="Y" (calendar years)')
    prepared = as_orders(orders, as_of)
    code, day, ids = _purchase_days(prepared)
    n = len(ids)
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, code, day)
    as_of_day = _day_number(prepared.as_of)
    if isinstance(period, str):
        slot = _periods_of(day, period)
        first_slot = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first_slot, code, slot)
        opportunity = slot - first_slot[code]
        n_periods = _last_complete_period(prepared.as_of, period) - first_slot
    else:
        opportunity = (day - first[code]) // period
        n_periods = (as_of_day - first + 1) // period - 1
    n_periods = np.maximum(n_periods, 0)
    counted = (opportunity >= 1) & (opportunity <= n_periods[code])
    # one opportunity holds several purchase days: count distinct (customer, opportunity)
    width = int(n_periods.max()) + 2 if n else 1
    key = pd.unique(code[counted] * width + opportunity[counted])
    frequency = np.bincount(np.asarray(key) // width, minlength=n)
    recency = np.zeros(n, dtype=np.int64)
    np.maximum.at(recency, code[counted], opportunity[counted])
    table = pd.DataFrame(
        {"frequency": frequency.astype(np.float64), "recency": recency.astype(np.float64),
         "n_periods": n_periods.astype(np.float64)},
        index=ids.rename("customer_id"),
    )
    has = np.bincount(code, minlength=n) > 0
    table = table.loc[has]
    table.attrs = {"as_of": str(prepared.as_of.date()), "period": period}
    return table


def _survivor_table(cohort: np.ndarray, last_age: np.ndarray, observed_ages: np.ndarray,
                    labels: Any) -> pd.DataFrame:
    """Count per cohort the customers whose last active age is >= k, for each observed k."""
    k_max = int(observed_ages.max()) if observed_ages.size else 0
    ages = np.arange(k_max + 1)
    n_cohorts = len(observed_ages)
    counts = np.zeros((n_cohorts, k_max + 2))
    np.add.at(counts, (cohort, np.minimum(last_age, k_max) + 1), 1.0)
    at_least = counts[:, :0:-1].cumsum(axis=1)[:, ::-1]  # customers with last age >= k
    values = np.where(ages[None, :] <= observed_ages[:, None], at_least[:, : k_max + 1], np.nan)
    return pd.DataFrame(values, index=labels,
                        columns=pd.RangeIndex(k_max + 1, name="age"))


def survivors_from_orders(
    orders: Orders | pd.DataFrame, *, period: str = "Y", as_of: Any = None
) -> pd.DataFrame:
    """Return cohort survivor counts from payments: the input of the sBG model.

    A customer's cohort is the calendar period of their first purchase; they
    are active from it to the period of their last purchase (a gap between
    payments does not end a contract; the last payment does). Survivors at
    age ``k`` are the cohort's customers still active ``k`` periods after
    their first, counted for every complete period up to ``as_of``.

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
        Prepared orders (e.g. subscription payments), or order lines with
        the canonical column names.
    period : {"Y", "Q", "M", "W"}, default "Y"
        Length of a contract period: calendar years, quarters, months, weeks.
    as_of : date-like, optional
        Analysis date; default ``orders.as_of``. The period holding it counts
        only when ``as_of`` is its last day.

    Returns
    -------
    pandas.DataFrame
        Index ``cohort`` (the first period, ``pandas.Period``); columns
        ``0, 1, ..., K`` (int ages, name ``age``): customers active at that
        age (float64; NaN beyond the cohort's last complete age). Column 0 is
        the cohort's size. Cohorts without a complete period are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "c", "c"],
    ...                       "order_date": ["2021-01-05", "2022-01-05", "2021-03-01",
    ...                                      "2022-02-01", "2023-02-01", "2024-12-31"],
    ...                       "amount": [9.0] * 6})
    >>> survivors_from_orders(frame, period="Y")  # as of 2024-12-31
    age        0    1    2    3
    cohort
    2021     2.0  1.0  0.0  0.0
    2022     1.0  1.0  1.0  NaN
    """
    who = "survivors_from_orders"
    check(period, Choice(*CALENDAR_PERIODS, example="Y"), name="period", owner=who)
    prepared = as_orders(orders, as_of)
    code, day, ids = _purchase_days(prepared)
    slot = _periods_of(day, period)
    n = len(ids)
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, code, slot)
    np.maximum.at(last, code, slot)
    has = first <= last
    complete = _last_complete_period(prepared.as_of, period)
    keep = has & (first <= complete)
    cohorts, cohort = np.unique(first[keep], return_inverse=True)
    last_age = np.minimum(last[keep], complete) - first[keep]
    labels = pd.PeriodIndex.from_ordinals(  # type: ignore[attr-defined]
        cohorts, freq=period).rename("cohort")
    return _survivor_table(cohort, last_age, complete - cohorts, labels)


def survivors_from_renewals(
    records: pd.DataFrame, *, customer: str = "customer_id", period: str = "period",
    renewed: str = "renewed",
) -> pd.DataFrame:
    """Return cohort survivor counts from renewal records: the input of the sBG model.

    Each record says whether a customer renewed at the end of a period
    (True) or left (False). A customer's cohort is their first period;
    survivors at age ``k + 1`` are the customers who renewed at age ``k``.
    A cohort is observed up to one age past the last period in the records.

    Parameters
    ----------
    records : pandas.DataFrame
        One row per customer and period with a renewal decision.
    customer, period, renewed : str
        Column names: the customer id; the period (whole numbers such as
        contract years or month numbers, or ``pandas.Period`` values);
        the decision (bool, or 0/1).

    Returns
    -------
    pandas.DataFrame
        Index ``cohort`` (first period, in the records' type); columns
        ``0, 1, ..., K`` (int ages, name ``age``): customers active at that
        age (float64; NaN beyond the cohort's last observed age).

    Raises
    ------
    SchemaError
        A missing column, a missing value, a duplicate (customer, period), a
        decision after a non-renewal, or a renewal not followed by the next
        period's decision while the records cover it.

    Examples
    --------
    >>> import pandas as pd
    >>> records = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "c"],
    ...                         "period": [1, 2, 1, 2, 3],
    ...                         "renewed": [True, False, False, True, True]})
    >>> survivors_from_renewals(records)
    age       0    1    2    3
    cohort
    1       2.0  1.0  0.0  0.0
    2       1.0  1.0  1.0  NaN
    """
    who = "survivors_from_renewals"
    if not isinstance(records, pd.DataFrame):
        raise SchemaError(f"{who} needs a pandas DataFrame of renewal records; got "
                          f"{type(records).__name__}.")
    require_columns(records, {"customer": customer, "period": period, "renewed": renewed},
                    owner=who, hint="Name the columns with customer=, period=, renewed=.")
    missing = records[[customer, period, renewed]].isna().any(axis=1)
    if missing.any():
        raise SchemaError(f"{who}: {int(missing.sum())} record(s) with a missing value (first "
                          f"at row {records.index[np.flatnonzero(missing)[0]]!r}); every record "
                          "needs a customer, a period and a decision.")
    column = records[period]
    is_period = isinstance(column.dtype, pd.PeriodDtype)
    if is_period:
        slot = np.asarray(pd.PeriodIndex(column).asi8, dtype=np.int64)
    else:
        numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(numbers).all() or (numbers != np.round(numbers)).any():
            raise SchemaError(f"{who}: column {period!r} must hold whole numbers (e.g. contract "
                              "years) or pandas Periods; got dtype "
                              f"{column.dtype!r}.")
        slot = numbers.astype(np.int64)
    decision = records[renewed]
    if decision.dtype != bool and not decision.isin([0, 1]).all():
        raise SchemaError(f"{who}: column {renewed!r} must be True/False (or 1/0); got values "
                          f"{sorted(map(str, pd.unique(decision)))[:5]!r}.")
    yes = decision.to_numpy().astype(bool)
    code, ids = pd.factorize(records[customer])
    order = np.lexsort((slot, code))
    code, slot, yes = code[order], slot[order], yes[order]
    same = code[1:] == code[:-1]
    problems = []
    if (same & (slot[1:] == slot[:-1])).any():
        problems.append("the same customer and period twice")
    if (same & ~yes[:-1]).any():
        problems.append("a decision after a non-renewal (a customer who left came back)")
    last_slot = slot.max()
    gap = same & (slot[1:] > slot[:-1] + 1)
    ends = np.append(~same, True)  # the last record of each customer
    open_end = ends & yes & (slot < last_slot)
    if gap.any() or open_end.any():
        problems.append("a renewal not followed by the next period's decision")
    if problems:
        raise SchemaError(f"{who}: the records are not a renewal history: "
                          f"{'; '.join(problems)}. Each customer needs one record per period "
                          "from their first until they leave.")
    first = np.full(len(ids), np.iinfo(np.int64).max)
    np.minimum.at(first, code, slot)
    last_seen = np.zeros(len(ids), dtype=np.int64)
    np.maximum.at(last_seen, code, slot)
    renewed_last = np.zeros(len(ids), dtype=bool)
    renewed_last[code[ends]] = yes[ends]
    # last active age: the age of the last decision, plus one if it was a renewal
    last_age = last_seen - first + renewed_last
    cohorts, cohort = np.unique(first, return_inverse=True)
    observed = last_slot - cohorts + 1
    if is_period:
        labels = pd.PeriodIndex.from_ordinals(  # type: ignore[attr-defined]
            cohorts, freq=column.dtype.freq)  # type: ignore[union-attr]
    else:
        labels = pd.Index(cohorts)
    return _survivor_table(cohort, last_age, observed, labels.rename("cohort"))


def calibration_holdout_summary(
    orders: Orders | pd.DataFrame, *, calibration_end: Any, holdout_end: Any = None,
    time_unit: str = "D",
) -> pd.DataFrame:
    """Return ``btyd_summary`` at a calibration date with what each customer did after it.

    The customers are those with a purchase on or before ``calibration_end``;
    their calibration columns come from the orders up to that date only.

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
        Orders through the end of the holdout.
    calibration_end : date-like
        Last day of the calibration period.
    holdout_end : date-like, optional
        Last day of the holdout; default ``orders.as_of``.
    time_unit : {"D", "W"}, default "D"
        Unit of ``recency``, ``T`` and ``duration_holdout``.

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id``; ``frequency, recency, T, monetary_value`` as
        :func:`btyd_summary` at ``calibration_end``, plus
        ``frequency_holdout`` (distinct purchase days in the holdout,
        float64: the unit the models predict) and ``duration_holdout``
        (length of the holdout, float64, the same for everyone). ``attrs``
        holds ``as_of`` (the calibration end), ``holdout_end`` and ``time_unit``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                       "order_date": ["2024-01-01", "2024-01-05", "2024-02-03",
    ...                                      "2024-01-20"],
    ...                       "amount": [5.0, 6.0, 7.0, 8.0]})
    >>> calibration_holdout_summary(frame, calibration_end="2024-01-31")[
    ...     ["frequency", "T", "frequency_holdout", "duration_holdout"]]
                 frequency     T  frequency_holdout  duration_holdout
    customer_id
    a                  1.0  30.0                1.0               3.0
    b                  0.0  11.0                0.0               3.0
    """
    who = "calibration_holdout_summary"
    check(time_unit, Choice("D", "W", example="D"), name="time_unit", owner=who)
    end = as_date(calibration_end, name="calibration_end")
    full = as_orders(orders, holdout_end)
    if end >= full.as_of:
        raise ValueError(f"{who}: calibration_end={end.date()} must be before the end of the "
                         f"holdout ({full.as_of.date()}); there is no holdout to measure.")
    table = btyd_summary(full.until(end), time_unit=time_unit)  # type: ignore[arg-type]
    code, day, ids = _purchase_days(full)
    later = day > _day_number(end)
    counts = np.bincount(code[later], minlength=len(ids)).astype(np.float64)
    table["frequency_holdout"] = pd.Series(counts, index=ids).reindex(table.index).to_numpy()
    scale = 7.0 if time_unit == "W" else 1.0
    table["duration_holdout"] = float((full.as_of - end).days) / scale
    table.attrs = {**table.attrs, "holdout_end": str(full.as_of.date())}
    return table


def transactions_tracking(
    orders: Orders | pd.DataFrame, models: PurchaseModel | Mapping[str, PurchaseModel], *,
    calibration_end: Any, holdout_end: Any = None, period_days: int = 7,
) -> pd.DataFrame:
    """Return repeat transactions per period, actual and expected, over calibration and holdout.

    The tracking chart of Fader, Hardie & Lee (2005, fig. 2 and 3): for the
    customers whose first purchase is on or before ``calibration_end``, the
    actual repeat purchase days in each period against each model's
    expectation ``sum_i E[X(t - s_i)]`` (``s_i`` the customer's first
    purchase day, ``E[X]`` the model's population expectation), which uses
    nothing of the holdout.

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
        Orders through the end of the holdout.
    models : purchase model or mapping of name to purchase model
        Fitted BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel (on the
        calibration period, any time unit).
    calibration_end : date-like
        Last day of the calibration period; periods are counted back from it.
    holdout_end : date-like, optional
        Last day of the holdout; default ``orders.as_of``.
    period_days : int, default 7
        Length of a period in days (7: weekly, as in the paper).

    Returns
    -------
    pandas.DataFrame
        Index ``period`` (int64, 1 = the first); columns ``period_start``,
        ``period_end`` (datetime64, first and last day; the first period may
        be shorter, as it starts at the first purchase), ``holdout`` (bool:
        after ``calibration_end``), ``actual`` (float64, repeat purchase days
        in the period), ``actual_cumulative``, and per model ``<name>`` and
        ``<name>_cumulative`` (float64, expected).

    Examples
    --------
    >>> from rfm_loyalty.btyd import BetaGeoModel
    >>> from rfm_loyalty.datasets import make_orders
    >>> orders = make_orders(n_customers=300, start="2023-01-01", end="2023-12-31",
    ...                      random_state=1)
    >>> table = calibration_holdout_summary(orders, calibration_end="2023-09-30")
    >>> model = BetaGeoModel(time_unit="D").fit(table)
    >>> track = transactions_tracking(orders, {"bgnbd": model}, calibration_end="2023-09-30")
    >>> list(track.columns)
    ['period_start', 'period_end', 'holdout', 'actual', 'actual_cumulative', 'bgnbd', 'bgnbd_cumulative']
    """  # noqa: E501
    who = "transactions_tracking"
    check(period_days, Days(example=7), name="period_days", owner=who)
    named = {"model": models} if isinstance(models, PurchaseModel) else dict(models)
    for name, model in named.items():
        if not isinstance(model, PurchaseModel) or not hasattr(model, "params_"):
            raise TypeError(f"{who}: models[{name!r}] must be a fitted BetaGeoModel, "
                            f"ModifiedBetaGeoModel or ParetoNBDModel; got {model!r}.")
    end = as_date(calibration_end, name="calibration_end")
    full = as_orders(orders, holdout_end)
    code, day, _ = _purchase_days(full)
    first = np.full(int(code.max()) + 1 if code.size else 0, np.iinfo(np.int64).max)
    np.minimum.at(first, code, day)
    end_day, last_day = _day_number(end), _day_number(full.as_of)
    cohort = first <= end_day
    if not cohort.any():
        raise ValueError(f"{who}: no customer bought on or before calibration_end="
                         f"{end.date()}.")
    origin = int(first[cohort].min())
    # period ends (inclusive days), counted back and forward from calibration_end
    back = np.arange(end_day, origin - 1, -period_days)[::-1]
    ahead = np.arange(end_day + period_days, last_day + period_days, period_days)
    ends = np.concatenate([back, np.minimum(ahead, last_day)])
    ends = ends[ends >= origin]
    starts = np.concatenate([[origin], ends[:-1] + 1])
    repeat = cohort[code] & (day > first[code])
    slot = np.searchsorted(ends, day[repeat])
    actual = np.bincount(slot, minlength=len(ends)).astype(np.float64)[: len(ends)]
    table = pd.DataFrame(
        {"period_start": starts.astype("datetime64[D]").astype("datetime64[ns]"),
         "period_end": ends.astype("datetime64[D]").astype("datetime64[ns]"),
         "holdout": ends > end_day, "actual": actual, "actual_cumulative": np.cumsum(actual)},
        index=pd.RangeIndex(1, len(ends) + 1, name="period"),
    )
    firsts, n_first = np.unique(first[cohort], return_counts=True)
    for name, model in named.items():
        elapsed = (ends[None, :] - firsts[:, None]).astype(float)  # days since first purchase
        grid = np.maximum(elapsed, 0.0) / model.days_per_unit_
        expected = np.asarray(model.expected_purchases_population(grid.ravel())).reshape(
            grid.shape)
        cumulative = n_first @ np.where(elapsed >= 0, expected, 0.0)
        table[name] = np.diff(cumulative, prepend=0.0)
        table[f"{name}_cumulative"] = cumulative
    return table
