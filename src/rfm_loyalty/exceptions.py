"""Exceptions and warnings raised by rfm_loyalty.

Every error names what was wrong, the value received and how to fix it.
The texts are part of the public API and are tested with ``match=``.
"""

from __future__ import annotations

__all__ = [
    "BinningWarning",
    "CampaignWarning",
    "DataQualityError",
    "DataQualityWarning",
    "InvalidParameterError",
    "ModelFitError",
    "ModelWarning",
    "RFMError",
    "SchemaError",
]


class RFMError(Exception):
    """Base class of every error rfm_loyalty raises on purpose."""


class SchemaError(RFMError, ValueError):
    """The input table does not have the structure the function needs.

    Raised for a missing column, empty input, a column of the wrong kind, or
    an input with no valid row left after cleaning.
    """


class InvalidParameterError(RFMError, ValueError, TypeError):
    """A parameter has a value or a type the function does not accept.

    Both a ``ValueError`` and a ``TypeError`` (as scikit-learn's
    ``InvalidParameterError``), so code that catches either keeps working.
    Raised before any data is read.
    """


class DataQualityError(RFMError, ValueError):
    """Rows are unusable and the caller asked to raise instead of dropping them.

    Raised by ``prepare_orders`` with ``on_bad_rows="raise"`` or
    ``returns="error"``.
    """


class ModelFitError(RFMError, ValueError):
    """A model cannot be fitted to the data (e.g. the data cannot identify it)."""


class DataQualityWarning(UserWarning):
    """Rows were dropped or values coerced while preparing the orders.

    The message gives the count per reason; ``Orders.quality`` holds the
    full accounting.
    """


class BinningWarning(UserWarning):
    """Ties collapsed score bins: fewer bins than asked for were learned."""


class CampaignWarning(UserWarning):
    """A campaign comparison cannot show what was asked of it.

    Issued by ``campaign_lift`` when the groups are too small to detect the
    lift asked for at 80% power, when a group has too few buyers for the
    revenue and orders intervals to be trusted, or when the window reaches
    past the last order. The same text is kept in ``CampaignLift.notes``.
    """


class ModelWarning(UserWarning):
    """A model's assumption looks violated by the data it was fitted on."""
