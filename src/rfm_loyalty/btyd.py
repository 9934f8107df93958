"""Customer-base models: who is still a customer, what they will buy, what they are worth.

Non-contractual customers, buying at any time (``frequency``, ``recency``,
``T`` from :func:`rfm_loyalty.summary.btyd_summary`):

* :class:`BetaGeoModel` -- BG/NBD (Fader, Hardie & Lee 2005, "Counting your
  customers the easy way", Marketing Science 24(2)).
* :class:`ModifiedBetaGeoModel` -- MBG/NBD (Batislam, Denizel & Filiztekin
  2007): BG/NBD where one-time buyers may also have left.
* :class:`ParetoNBDModel` -- Pareto/NBD (Schmittlein, Morrison & Colombo
  1987): drop-out at any time, not only after a purchase.

Non-contractual customers with discrete purchase opportunities (yearly
donations, events, seasons; :func:`opportunity_summary`):

* :class:`BetaGeoBetaBinomModel` -- BG/BB (Fader, Hardie & Shang 2010).

Contractual customers who renew or leave at fixed times (memberships,
subscriptions; :func:`survivors_from_orders`, :func:`survivors_from_renewals`):

* :class:`ShiftedBetaGeometricModel` -- sBG (Fader & Hardie 2007, "How to
  project customer retention"): survival, retention, discounted expected
  residual lifetime and renewal-based value.

Spend and value: :class:`GammaGammaModel` (Fader & Hardie 2013) and
:func:`customer_lifetime_value`. Checking: :func:`compare_models` (fit,
calibration and holdout fit side by side) and :func:`transactions_tracking`.

Every model is configured in its constructor, fitted by maximum likelihood
with ``fit(data)`` (which returns the model), has fitted attributes ending
in ``_`` (``params_``, ``standard_errors_``, ``log_likelihood_``, ``aic_``,
``bic_``), ``summary()``, an optional L2 ``penalizer`` and
``to_dict()``/``from_dict()``.

Time unit: the continuous models work in whatever unit ``recency`` and ``T``
are in, recorded as ``time_unit_`` ("D" or "W") and ``days_per_unit_``.
Only :func:`customer_lifetime_value` needs it, to turn months into that
unit; its month is ``days_per_month`` days (default 30.4375 = 365.25 / 12).
"""

from __future__ import annotations

from rfm_loyalty._btyd.base import NO_DROPOUT_BELOW
from rfm_loyalty._btyd.bgbb import BetaGeoBetaBinomModel
from rfm_loyalty._btyd.bgnbd import BetaGeoModel
from rfm_loyalty._btyd.compare import PURCHASE_MODELS, compare_models, fit_customer_models
from rfm_loyalty._btyd.gammagamma import GammaGammaModel
from rfm_loyalty._btyd.mbgnbd import ModifiedBetaGeoModel
from rfm_loyalty._btyd.paretonbd import ParetoNBDModel
from rfm_loyalty._btyd.sbg import ShiftedBetaGeometricModel
from rfm_loyalty._btyd.tables import (
    calibration_holdout_summary,
    opportunity_summary,
    survivors_from_orders,
    survivors_from_renewals,
    transactions_tracking,
)
from rfm_loyalty._btyd.value import (
    DAYS_PER_MONTH,
    LIFETIMES_DAYS_PER_MONTH,
    customer_lifetime_value,
)

__all__ = [
    "DAYS_PER_MONTH",
    "LIFETIMES_DAYS_PER_MONTH",
    "NO_DROPOUT_BELOW",
    "PURCHASE_MODELS",
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "ShiftedBetaGeometricModel",
    "calibration_holdout_summary",
    "compare_models",
    "customer_lifetime_value",
    "fit_customer_models",
    "opportunity_summary",
    "survivors_from_orders",
    "survivors_from_renewals",
    "transactions_tracking",
]
