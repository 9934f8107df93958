"""Simulate customers from the BG/NBD and Gamma-Gamma models with known parameters.

Used to check that :mod:`rfm_loyalty.btyd` recovers the parameters it was
given, and to benchmark fitting at scale. The defaults are the published
CDNOW estimates (in weeks), so the default population looks like the CDNOW
customer base: r=0.243, alpha=4.414, a=0.793, b=2.426 (Fader, Hardie & Lee
2005) and p=6.25, q=3.74, gamma=15.44 (Fader & Hardie 2013).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["simulate_btyd"]


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
    round_times: bool = False,
    return_latent: bool = False,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Draw a customer table from BG/NBD purchases and Gamma-Gamma spend.

    Each customer makes a first purchase at time 0 and is observed until
    ``T ~ Uniform(T_min, T_max)``. While alive they buy at a Poisson rate
    ``lambda ~ Gamma(shape=r, rate=alpha)``; after each repeat purchase they
    drop out for good with probability ``p_drop ~ Beta(a, b)``. Each repeat
    purchase is worth ``Gamma(shape=p, rate=nu)`` with
    ``nu ~ Gamma(shape=q, rate=gamma)``. Times are in one unit of your choice
    (weeks for the defaults): ``alpha``, ``T_min`` and ``T_max`` share it.

    The draw is vectorised: the number of repeat purchases is
    ``min(N, J)`` with ``N ~ Poisson(lambda T)`` the purchases a never-dying
    customer would make and ``J ~ Geometric(p_drop)`` the purchase after
    which the customer dies; the time of the x-th of N uniform arrivals on
    ``[0, T]`` is ``T * Beta(x, N - x + 1)``.

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
    round_times : bool, default False
        Round ``recency`` and ``T`` down to whole time units, as a table built
        from dated orders reports them (identical rows then become common,
        which is what makes fitting a million customers fast). Purchases in
        the same unit are still counted separately.
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
    """
    _check(n_customers, r, alpha, a, b, p, q, gamma, T_min, T_max)
    rng = np.random.default_rng(random_state)
    n = int(n_customers)
    lam = rng.gamma(r, 1.0 / alpha, n)
    # A Beta draw can underflow to exactly 0, which Geometric rejects.
    p_drop = np.clip(rng.beta(a, b, n), 1e-12, 1.0)
    T = rng.uniform(T_min, T_max, n) if T_max > T_min else np.full(n, float(T_min))
    n_potential = rng.poisson(lam * T)
    dies_after = rng.geometric(p_drop)
    x = np.minimum(n_potential, dies_after)
    has_repeat = x > 0
    # x-th order statistic of N uniforms on [0, T]; dummy shapes where x == 0.
    frac = rng.beta(np.where(has_repeat, x, 1), np.where(has_repeat, n_potential - x + 1, 1))
    recency = np.where(has_repeat, T * frac, 0.0)
    nu = rng.gamma(q, 1.0 / gamma, n)
    total_spend = rng.gamma(np.where(has_repeat, p * x, 1.0), 1.0 / nu)
    monetary = np.where(has_repeat, total_spend / np.maximum(x, 1), 0.0)
    if round_times:
        recency, T = np.floor(recency), np.floor(T)
    frame = pd.DataFrame(
        {
            "frequency": x.astype(np.float64),
            "recency": recency.astype(np.float64),
            "T": T.astype(np.float64),
            "monetary_value": monetary.astype(np.float64),
        },
        index=pd.RangeIndex(n, name="customer_id"),
    )
    if return_latent:
        frame["purchase_rate"] = lam
        frame["dropout_probability"] = p_drop
        frame["spend_scale"] = nu
        frame["is_alive"] = n_potential < dies_after
    return frame


def _check(n_customers: int, *values: float) -> None:
    if isinstance(n_customers, bool) or not isinstance(n_customers, (int, np.integer)) or (
        n_customers < 1
    ):
        raise ValueError(f"simulate_btyd: n_customers must be a whole number >= 1; "
                         f"got {n_customers!r}.")
    names = ("r", "alpha", "a", "b", "p", "q", "gamma")
    for name, value in zip(names, values[:7], strict=True):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"simulate_btyd: {name} must be a finite number > 0; "
                             f"got {value!r}.")
    T_min, T_max = values[7], values[8]
    if not (np.isfinite(T_min) and np.isfinite(T_max)) or T_min < 0 or T_max < T_min:
        raise ValueError(f"simulate_btyd: need 0 <= T_min <= T_max; got T_min={T_min!r}, "
                         f"T_max={T_max!r}.")
