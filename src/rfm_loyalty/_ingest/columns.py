"""Columns found from the header (``columns="auto"``): ``OrderColumns`` from header names.

The table of accepted names and the matching rules are in
:mod:`rfm_loyalty._ingest.headers`; this module turns a match into the
``OrderColumns`` the readers use, and words the note every result records.
"""

from __future__ import annotations

from collections.abc import Iterable

from rfm_loyalty._ingest.headers import columns_note
from rfm_loyalty._ingest.options import OrderColumns

__all__ = ["infer_columns", "inferred_note"]


def infer_columns(headers: Iterable[object], **given: str) -> OrderColumns:
    """Return the ``OrderColumns`` matched from header names (``OrderColumns.infer``).

    Examples
    --------
    >>> infer_columns(["InvoiceNo", "CustomerID", "InvoiceDate", "Revenue"])
    OrderColumns(customer='CustomerID', date='InvoiceDate', amount='Revenue', order_id='InvoiceNo')
    """
    return OrderColumns.infer(list(headers), **given)


def inferred_note(columns: OrderColumns) -> dict[str, str]:
    """Return the ``QualityReport.readings`` entry of columns found by ``columns="auto"``.

    Examples
    --------
    >>> inferred_note(OrderColumns(customer="买家会员名", date="下单时间", amount="实付金额"))
    {'columns': "inferred from the header (columns='auto'): customer='买家会员名', date='下单时间', amount='实付金额'"}
    """  # noqa: E501
    return {"columns": columns_note(columns.used())}
