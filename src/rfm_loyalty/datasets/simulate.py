"""Simulate customers from the customer-base models with known parameters.

Used to check that :mod:`rfm_loyalty.btyd` recovers the parameters it was
given, and to benchmark fitting at scale. Every simulator is seeded
(``random_state``, default 0) and vectorised (no loop over customers).

* :func:`simulate_btyd` -- BG/NBD purchases with Gamma-Gamma spend (defaults:
  the CDNOW estimates in weeks, r=0.243, alpha=4.414, a=0.793, b=2.426 of
  Fader, Hardie & Lee 2005 and p=6.25, q=3.74, gamma=15.44 of Fader & Hardie
  2013); ``model="mbgnbd"`` draws MBG/NBD customers instead.
* :func:`simulate_paretonbd` -- Pareto/NBD purchases with Gamma-Gamma spend
  (defaults: the CDNOW estimates of Fader, Hardie & Lee 2005's note).
* :func:`simulate_bgbb` -- BG/BB purchases at discrete opportunities
  (defaults: the donation estimates of Fader, Hardie & Shang 2010).
* :func:`simulate_sbg` -- survivors of a contractual cohort under the sBG
  model (defaults: the "regular" segment of Fader & Hardie 2007).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["simulate_bgbb", "simulate_btyd", "simulate_paretonbd", "simulate_sbg"]


def simulate_btyd(
    n_customers: int = 1000,
    *,
    r: float = 0.243,
    alpha: float = 4.414,
    a: float = 0.793,
    b: float = 2.426,
    p: float = 6.25,
    q: float = 3.74,
    gamma: float = 15.44,
    T_min: float = 27.0,
    T_max: float = 39.0,
    model: str = "bgnbd",
    round_times: bool = False,
    return_latent: bool = False,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Draw a customer table from BG/NBD (or MBG/NBD) purchases and Gamma-Gamma spend.

    Each customer makes a first purchase at time 0 and is observed until
    ``T ~ Uniform(T_min, T_max)``. While alive they buy at a Poisson rate
    ``lambda ~ Gamma(shape=r, rate=alpha)``; after each repeat purchase they
    drop out for good with probability ``p_drop ~ Beta(a, b)`` (MBG/NBD:
    also right after the first purchase). Each repeat purchase is worth
    ``Gamma(shape=p, rate=nu)`` with ``nu ~ Gamma(shape=q, rate=gamma)``.
    Times are in one unit of your choice (weeks for the defaults): ``alpha``,
    ``T_min`` and ``T_max`` share it.

    The draw is vectorised: the number of repeat purchases is
    ``min(N, J)`` with ``N ~ Poisson(lambda T)`` the purchases a never-dying
    customer would make and ``J`` (geometric) the purchase after which the
    customer dies; the time of the x-th of N uniform arrivals on ``[0, T]``
    is ``T * Beta(x, N - x + 1)``.

    Parameters
    ----------
    n_customers : int, default 1000
        Number of customers (>= 1).
    r, alpha, a, b : float
        BG/NBD parameters (> 0).
    p, q, gamma : float
        Gamma-Gamma parameters (> 0).
    T_min, T_max : float, default 27.0 and 39.0
        Range of the observation lengths, ``0 <= T_min <= T_max``.
    model : {"bgnbd", "mbgnbd"}, default "bgnbd"
        BG/NBD, or MBG/NBD (Batislam, Denizel & Filiztekin 2007), where a
        customer may also leave right after the first purchase.
    round_times : bool, default False
        Report the table as :func:`rfm_loyalty.summary.btyd_summary` does from
        dated orders: times in whole units (``T`` and each purchase rounded
        down), ``frequency`` = distinct units with a purchase after the first
        one, ``recency`` = the last of them, ``monetary_value`` = mean spend of
        those units. Purchases in the first unit merge into the first
        purchase, so every repeat buyer has ``recency >= 1``. Identical rows
        then become common, which makes fitting a million customers fast; the
        rounding biases fits slightly (e.g. alpha by -2% at day resolution).
    return_latent : bool, default False
        Also return each customer's latent values (see Returns).
    random_state : int, numpy.random.Generator or None, default 0
        Seed or generator; the default makes the output reproducible.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (int64, 0..n-1), columns:

        * ``frequency`` (float64): number of repeat purchases;
        * ``recency`` (float64): time of the last repeat purchase (0 without one);
        * ``T`` (float64): length of observation since the first purchase;
        * ``monetary_value`` (float64): mean value of the repeat purchases
          (0 without one);

        and with ``return_latent=True`` also ``purchase_rate`` (float64,
        lambda), ``dropout_probability`` (float64, p_drop), ``spend_scale``
        (float64, nu; mean spend is p / nu) and ``is_alive`` (bool, still
        alive at T).

    Examples
    --------
    >>> df = simulate_btyd(5, random_state=1)
    >>> list(df.columns)
    ['frequency', 'recency', 'T', 'monetary_value']
    >>> bool((df["recency"] <= df["T"]).all())
    True
    >>> days = simulate_btyd(2000, alpha=30.9, T_min=1, T_max=730, round_times=True)
    >>> bool((days.loc[days["frequency"] > 0, "recency"] >= 1).all())
    True
    """
    who = "simulate_btyd"
    n = _check_size(who, n_customers)
    _check_positive(who, r=r, alpha=alpha, a=a, b=b, p=p, q=q, gamma=gamma)
    _check_window(who, T_min, T_max)
    if model not in ("bgnbd", "mbgnbd"):
        raise ValueError(f"{who}: model must be 'bgnbd' or 'mbgnbd'; got {model!r}.")
    rng = np.random.default_rng(random_state)
    lam = rng.gamma(r, 1.0 / alpha, n)
    # A Beta draw can underflow to exactly 0, which Geometric rejects.
    p_drop = np.clip(rng.beta(a, b, n), 1e-12, 1.0)
    T = rng.uniform(T_min, T_max, n) if T_max > T_min else np.full(n, float(T_min))
    n_potential = rng.poisson(lam * T)
    dies_after = rng.geometric(p_drop)
    if model == "mbgnbd":
        # the first chance to leave comes right after the first purchase
        dies_after = dies_after - 1
    x = np.minimum(n_potential, dies_after)
    alive = n_potential < dies_after
    has_repeat = x > 0
    # x-th order statistic of N uniforms on [0, T]; dummy shapes where x == 0.
    frac = rng.beta(np.where(has_repeat, x, 1), np.where(has_repeat, n_potential - x + 1, 1))
    recency = np.where(has_repeat, T * frac, 0.0)
    nu = rng.gamma(q, 1.0 / gamma, n)
    if round_times:
        days = _first_order_statistics(rng, x, n_potential, T)
        frame = _rounded_table(rng, days, x, T, p, nu)
    else:
        total_spend = rng.gamma(np.where(has_repeat, p * x, 1.0), 1.0 / nu)
        monetary = np.where(has_repeat, total_spend / np.maximum(x, 1), 0.0)
        frame = _table(x.astype(np.float64), recency, T, monetary)
    if return_latent:
        frame["purchase_rate"] = lam
        frame["dropout_probability"] = p_drop
        frame["spend_scale"] = nu
        frame["is_alive"] = alive
    return frame


def simulate_paretonbd(
    n_customers: int = 1000,
    *,
    r: float = 0.553,
    alpha: float = 10.578,
    s: float = 0.606,
    beta: float = 11.669,
    p: float = 6.25,
    q: float = 3.74,
    gamma: float = 15.44,
    T_min: float = 27.0,
    T_max: float = 39.0,
    round_times: bool = False,
    return_latent: bool = False,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Draw a customer table from Pareto/NBD purchases and Gamma-Gamma spend.

    Each customer makes a first purchase at time 0, buys at a Poisson rate
    ``lambda ~ Gamma(r, alpha)`` while alive and lives an exponential time
    with rate ``mu ~ Gamma(s, beta)``; observed until ``T ~ Uniform(T_min,
    T_max)``. With ``L = min(lifetime, T)``: ``x ~ Poisson(lambda L)`` and the
    last purchase is the largest of ``x`` uniforms on ``[0, L]``. Spend as in
    :func:`simulate_btyd`. Defaults: the CDNOW estimates in weeks (Fader,
    Hardie & Lee 2005, "A note on implementing the Pareto/NBD model in
    MATLAB").

    Parameters
    ----------
    n_customers : int, default 1000
        Number of customers (>= 1).
    r, alpha, s, beta : float
        Pareto/NBD parameters (> 0).
    p, q, gamma : float
        Gamma-Gamma parameters (> 0).
    T_min, T_max : float, default 27.0 and 39.0
        Range of the observation lengths, ``0 <= T_min <= T_max``.
    round_times : bool, default False
        Whole time units, as :func:`simulate_btyd` describes.
    return_latent : bool, default False
        Also return ``purchase_rate`` (lambda), ``dropout_rate`` (mu),
        ``lifetime`` (time of drop-out), ``spend_scale`` (nu) and
        ``is_alive`` (bool).
    random_state : int, numpy.random.Generator or None, default 0
        Seed or generator.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id``; ``frequency``, ``recency``, ``T``,
        ``monetary_value`` (float64) as in :func:`simulate_btyd`, plus the
        latent columns when asked.

    Examples
    --------
    >>> df = simulate_paretonbd(1000, random_state=3)
    >>> bool((df["recency"] <= df["T"]).all()), round(float(df["frequency"].mean()), 2)
    (True, 1.08)
    """
    who = "simulate_paretonbd"
    n = _check_size(who, n_customers)
    _check_positive(who, r=r, alpha=alpha, s=s, beta=beta, p=p, q=q, gamma=gamma)
    _check_window(who, T_min, T_max)
    rng = np.random.default_rng(random_state)
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    T = rng.uniform(T_min, T_max, n) if T_max > T_min else np.full(n, float(T_min))
    with np.errstate(divide="ignore"):
        lifetime = rng.exponential(1.0 / mu)
    span = np.minimum(lifetime, T)
    x = rng.poisson(lam * span)
    has_repeat = x > 0
    # the largest of x uniforms on [0, span] is span * U^(1/x)
    recency = np.where(has_repeat, span * rng.random(n) ** (1.0 / np.maximum(x, 1)), 0.0)
    nu = rng.gamma(q, 1.0 / gamma, n)
    if round_times:
        days = _first_order_statistics(rng, x, x, span)
        frame = _rounded_table(rng, days, x, T, p, nu)
    else:
        total_spend = rng.gamma(np.where(has_repeat, p * x, 1.0), 1.0 / nu)
        frame = _table(x.astype(np.float64), recency, T,
                       np.where(has_repeat, total_spend / np.maximum(x, 1), 0.0))
    if return_latent:
        frame["purchase_rate"] = lam
        frame["dropout_rate"] = mu
        frame["lifetime"] = lifetime
        frame["spend_scale"] = nu
        frame["is_alive"] = lifetime > T
    return frame


def simulate_bgbb(
    n_customers: int = 1000,
    *,
    alpha: float = 1.204,
    beta: float = 0.750,
    gamma: float = 0.657,
    delta: float = 2.783,
    n_periods: int = 6,
    return_latent: bool = False,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Draw a discrete-opportunity table from the BG/BB model.

    At each of ``n_periods`` opportunities a customer who is still alive buys
    with probability ``p ~ Beta(alpha, beta)``; at the start of each
    opportunity an alive customer leaves for good with probability
    ``theta ~ Beta(gamma, delta)``. Defaults: the estimates of Fader, Hardie &
    Shang (2010) on the 11,104 donors of their data (6 yearly opportunities).

    Parameters
    ----------
    n_customers : int, default 1000
        Number of customers (>= 1).
    alpha, beta, gamma, delta : float
        BG/BB parameters (> 0).
    n_periods : int, default 6
        Opportunities observed (>= 1).
    return_latent : bool, default False
        Also return ``purchase_probability`` (p), ``dropout_probability``
        (theta) and ``is_alive`` (bool: alive at the last opportunity).
    random_state : int, numpy.random.Generator or None, default 0
        Seed or generator.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id``: ``frequency`` (float64, opportunities with
        a purchase), ``recency`` (float64, the last of them, 0 without one),
        ``n_periods`` (float64), plus the latent columns when asked.

    Examples
    --------
    >>> df = simulate_bgbb(2000, random_state=1)
    >>> bool((df["frequency"] <= df["recency"]).all()), int(df["n_periods"].max())
    (True, 6)
    """
    who = "simulate_bgbb"
    n = _check_size(who, n_customers)
    _check_positive(who, alpha=alpha, beta=beta, gamma=gamma, delta=delta)
    periods = _check_size(who, n_periods, name="n_periods")
    rng = np.random.default_rng(random_state)
    buy = np.clip(rng.beta(alpha, beta, n), 0.0, 1.0)
    theta = np.clip(rng.beta(gamma, delta, n), 1e-12, 1.0)
    alive_through = np.minimum(rng.geometric(theta) - 1, periods)  # opportunities alive
    opportunity = np.arange(1, periods + 1)
    bought = (rng.random((n, periods)) < buy[:, None]) & (opportunity <= alive_through[:, None])
    x = bought.sum(axis=1)
    recency = np.where(x > 0, periods - np.argmax(bought[:, ::-1], axis=1), 0)
    frame = pd.DataFrame(
        {"frequency": x.astype(np.float64), "recency": recency.astype(np.float64),
         "n_periods": np.full(n, float(periods))},
        index=pd.RangeIndex(n, name="customer_id"),
    )
    if return_latent:
        frame["purchase_probability"] = buy
        frame["dropout_probability"] = theta
        frame["is_alive"] = alive_through >= periods
    return frame


def simulate_sbg(
    n_customers: int = 1000,
    *,
    alpha: float = 0.704,
    beta: float = 1.182,
    n_periods: int = 7,
    random_state: int | np.random.Generator | None = 0,
) -> pd.Series:
    """Draw the survivor counts of one contractual cohort under the sBG model.

    Each customer renews at the end of every period with probability
    ``1 - theta``, ``theta ~ Beta(alpha, beta)``, until the first
    non-renewal. Defaults: the "regular" segment of Fader & Hardie (2007),
    "How to project customer retention", Journal of Interactive Marketing
    21(1).

    Parameters
    ----------
    n_customers : int, default 1000
        Cohort size (>= 1).
    alpha, beta : float
        sBG parameters (> 0).
    n_periods : int, default 7
        Periods observed after the start (>= 1).
    random_state : int, numpy.random.Generator or None, default 0
        Seed or generator.

    Returns
    -------
    pandas.Series
        ``survivors`` (int64): customers still active at the start of each
        period, index ``period`` 0..n_periods (period 0 is the whole cohort).

    Examples
    --------
    >>> simulate_sbg(1000, random_state=1).tolist()[:3]
    [1000, 648, 499]
    """
    who = "simulate_sbg"
    n = _check_size(who, n_customers)
    _check_positive(who, alpha=alpha, beta=beta)
    periods = _check_size(who, n_periods, name="n_periods")
    rng = np.random.default_rng(random_state)
    theta = np.clip(rng.beta(alpha, beta, n), 1e-12, 1.0)
    lifetime = rng.geometric(theta)  # the period whose renewal the customer declines
    ages = np.arange(periods + 1)
    survivors = (lifetime[None, :] > ages[:, None]).sum(axis=1)
    return pd.Series(survivors.astype(np.int64), index=pd.RangeIndex(periods + 1, name="period"),
                     name="survivors")


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def _table(x: np.ndarray, recency: np.ndarray, T: np.ndarray,
           monetary: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {"frequency": x.astype(np.float64), "recency": recency.astype(np.float64),
         "T": T.astype(np.float64), "monetary_value": monetary.astype(np.float64)},
        index=pd.RangeIndex(len(x), name="customer_id"),
    )


def _first_order_statistics(rng: np.random.Generator, x: np.ndarray, n_arrivals: np.ndarray,
                            span: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draw the first ``x`` of ``n_arrivals`` uniform purchase times on ``[0, span]``.

    Exponential spacings: with ``S_k`` the sums of iid Exp(1), the k-th of n
    sorted uniforms is ``S_k / S_(n+1)``, and ``S_(n+1) = S_x + Gamma(n + 1 - x)``.
    Returns the owner of each time and the times (grouped by customer, sorted).
    """
    owner = np.repeat(np.arange(len(x)), x)
    gaps = rng.exponential(1.0, owner.size)
    cumulative = np.cumsum(gaps)
    start = np.concatenate([[0], np.cumsum(x)[:-1]])
    before = np.where(start > 0, cumulative[np.maximum(start - 1, 0)], 0.0)
    partial = cumulative - before[owner]  # S_1 .. S_x within each customer
    last = np.where(x > 0, partial[np.maximum(np.cumsum(x) - 1, 0)], 0.0) if owner.size else x
    rest = rng.gamma(np.maximum(n_arrivals + 1 - x, 1e-300), 1.0)
    times = partial / (last + rest)[owner] * span[owner]
    return owner, times


def _rounded_table(rng: np.random.Generator, purchases: tuple[np.ndarray, np.ndarray],
                   x: np.ndarray, T: np.ndarray, p: float, nu: np.ndarray) -> pd.DataFrame:
    """Build the ``btyd_summary`` of customers whose purchase times are known: whole units."""
    owner, times = purchases
    day = np.floor(times)
    repeat_day = day > 0  # purchases in the first unit merge into the first purchase
    n = len(x)
    new_day = np.ones(owner.size, dtype=bool)  # times are sorted within each customer
    if owner.size > 1:
        new_day[1:] = (owner[1:] != owner[:-1]) | (day[1:] != day[:-1])
    frequency = np.bincount(owner[repeat_day & new_day], minlength=n)
    recency = np.zeros(n)
    np.maximum.at(recency, owner[repeat_day], day[repeat_day])
    spent_on = np.bincount(owner[repeat_day], minlength=n)  # purchases on repeat days
    total = rng.gamma(np.where(spent_on > 0, p * spent_on, 1.0), 1.0 / nu)
    monetary = np.where(frequency > 0, total / np.maximum(frequency, 1), 0.0)
    return _table(frequency.astype(np.float64), recency, np.floor(T), monetary)


def _check_size(who: str, value: Any, *, name: str = "n_customers") -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or (
        value < 1
    ):
        raise ValueError(f"{who}: {name} must be a whole number >= 1; got {value!r}.")
    return int(value)


def _check_positive(who: str, **values: float) -> None:
    for name, value in values.items():
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{who}: {name} must be a finite number > 0; got {value!r}.")


def _check_window(who: str, T_min: float, T_max: float) -> None:
    if not (np.isfinite(T_min) and np.isfinite(T_max)) or T_min < 0 or T_max < T_min:
        raise ValueError(f"{who}: need 0 <= T_min <= T_max; got T_min={T_min!r}, "
                         f"T_max={T_max!r}.")
