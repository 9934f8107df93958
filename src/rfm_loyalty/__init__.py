"""rfm_loyalty: order histories to customer intelligence."""

from rfm_loyalty.exceptions import (
    BinningWarning,
    DataQualityError,
    DataQualityWarning,
    ModelFitError,
    ModelWarning,
    RFMError,
    SchemaError,
)
from rfm_loyalty.orders import (
    OrderColumns,
    Orders,
    QualityReport,
    prepare_orders,
    read_orders,
)

__version__ = "0.1.0"

__all__ = [
    "BinningWarning",
    "DataQualityError",
    "DataQualityWarning",
    "ModelFitError",
    "ModelWarning",
    "OrderColumns",
    "Orders",
    "QualityReport",
    "RFMError",
    "SchemaError",
    "__version__",
    "prepare_orders",
    "read_orders",
]
