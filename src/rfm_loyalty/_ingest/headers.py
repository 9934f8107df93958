"""The table of English and Chinese header names, and matching headers to roles.

``HEADER_NAMES`` is the one table of accepted header names per role; the
page ``docs/columns.md`` is generated from it (``scripts/make_columns_docs.py``,
checked by ``tests/test_columns.py``). A header matches a name when both are
equal after :func:`normalise_header`: Unicode NFKC (full-width letters and
digits become ASCII), case folded, and spaces, underscores, hyphens and dots
removed, so ``CustomerID``, ``customer_id``, ``Customer ID`` and
``ＣＵＳＴＯＭＥＲ＿ＩＤ`` are one name.

The rules, kept simple so that a user can predict them:

* every name of a role is as good as any other: there is no preference
  order, so two headers that fit one role are an error naming both (never a
  silent pick);
* customer, date and an amount are required; the amount is either an amount
  column or a quantity and a unit-price column (amount = quantity x unit
  price); when an amount column is found, quantity and unit price are not
  used;
* the other roles (order id, status, cost, product, category, channel) are
  used when exactly one header fits; ``list_price`` and ``discount`` are never
  inferred (their meaning differs between exports): name them explicitly.

This module knows nothing of ``OrderColumns``: it returns plain role -> name
dicts, which :mod:`rfm_loyalty._ingest.options` (``OrderColumns.infer``,
``ReadOptions.resolve_columns``) and :mod:`rfm_loyalty._ingest.columns`
(``infer_columns``) turn into ``OrderColumns``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rfm_loyalty.exceptions import SchemaError

__all__ = ["HEADER_NAMES", "ColumnMatch", "columns_note", "header_table", "match_headers",
           "normalise_header"]

#: Header names accepted per role by ``columns="auto"`` (compared after
#: ``normalise_header``). Each name belongs to one role only.
HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "customer": (
        "customer_id", "CustomerID", "customer", "customer_no", "customer_code",
        "client_id", "user_id", "userid", "member_id", "member", "buyer", "buyer_id",
        "account_id",
        "客户ID", "客户编号", "客户", "客户名称", "会员ID", "会员编号", "会员名", "会员",
        "买家会员名", "买家ID", "买家昵称", "买家", "用户ID", "用户名", "用户",
    ),
    "date": (
        "order_date", "InvoiceDate", "date", "order_time", "order_datetime", "created_at",
        "created", "create_time", "purchase_date", "transaction_date", "timestamp",
        "下单时间", "订单创建时间", "创建时间", "付款时间", "订单付款时间", "支付时间",
        "订单日期", "下单日期", "交易时间", "日期",
    ),
    "amount": (
        "amount", "revenue", "sales", "total", "order_amount", "order_total",
        "total_amount", "line_total", "paid_amount", "payment_amount", "value",
        "实付金额", "买家实际支付金额", "订单金额", "支付金额", "实收金额", "成交金额",
        "销售额", "金额", "总金额", "付款金额",
    ),
    "order_id": (
        "order_id", "InvoiceNo", "Invoice", "order_no", "order_number", "order",
        "transaction_id", "invoice_id",
        "订单编号", "订单号", "订单ID", "主订单编号", "交易编号", "交易号",
    ),
    "status": (
        "status", "order_status", "transaction_status", "payment_status",
        "订单状态", "交易状态", "状态",
    ),
    "quantity": (
        "quantity", "qty", "units", "数量", "购买数量", "商品数量", "宝贝数量",
    ),
    "unit_price": (
        "unit_price", "UnitPrice", "price", "item_price", "单价", "商品单价", "价格",
        "商品价格",
    ),
    "cost": (
        "cost", "line_cost", "cogs", "cost_amount", "成本", "商品成本", "成本金额",
    ),
    "product": (
        "product", "product_id", "StockCode", "sku", "sku_id", "item_id", "product_code",
        "商品编号", "商品ID", "商品编码", "货号", "宝贝ID", "SKU编号",
    ),
    "category": (
        "category", "product_category", "category_name", "商品类目", "类目", "商品分类",
        "品类", "分类",
    ),
    "channel": (
        "channel", "sales_channel", "order_channel", "source", "渠道", "销售渠道",
        "订单来源", "来源渠道",
    ),
}

#: Roles without which no order can be read (the amount may instead be
#: quantity x unit price).
REQUIRED_ROLES: tuple[str, ...] = ("customer", "date")


def normalise_header(name: object) -> str:
    """Return the form headers are compared in: NFKC, case folded, no ``space _ - .``.

    Examples
    --------
    >>> normalise_header(" Customer_ID "), normalise_header("ＣｕｓｔｏｍｅｒＩＤ")
    ('customerid', 'customerid')
    """
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    return "".join(ch for ch in text if not (ch.isspace() or ch in "_-."))


_BY_NAME: dict[str, str] = {}
for _role, _names in HEADER_NAMES.items():
    for _name in _names:
        _key = normalise_header(_name)
        if _BY_NAME.setdefault(_key, _role) != _role:  # pragma: no cover - table error
            raise AssertionError(f"{_name!r} is listed for {_BY_NAME[_key]!r} and {_role!r}")


@dataclass(frozen=True)
class ColumnMatch:
    """The roles ``columns="auto"`` matched: role -> header.

    Attributes
    ----------
    roles : dict of str to str
        Role -> the header used (only matched roles), in the order of
        ``HEADER_NAMES``.
    """

    roles: Mapping[str, str]

    def note(self) -> str:
        """Return the one-line account of the mapping (``QualityReport.readings["columns"]``)."""
        return columns_note(self.roles)


def columns_note(roles: Mapping[str, str]) -> str:
    """Return the note ``columns="auto"`` records: ``inferred from the header ...: role='name'``.

    Examples
    --------
    >>> columns_note({"customer": "买家会员名", "date": "下单时间", "amount": "实付金额"})
    "inferred from the header (columns='auto'): customer='买家会员名', date='下单时间', amount='实付金额'"
    """  # noqa: E501
    return "inferred from the header (columns='auto'): " + ", ".join(
        f"{role}={name!r}" for role, name in roles.items()
    )


def match_headers(headers: Iterable[object], given: Mapping[str, str] | None = None
                  ) -> ColumnMatch:
    """Match a table's headers to roles by ``HEADER_NAMES``.

    Parameters
    ----------
    headers : iterable
        The column names of the input.
    given : dict of str to str, optional
        Roles already named by the caller; they are kept, their headers are
        not matched to another role, and their roles are not inferred.

    Returns
    -------
    ColumnMatch

    Raises
    ------
    SchemaError
        Two headers fit one role (both named, with a ready ``columns=`` dict
        to pass), or a required role has no header (the headers seen and the
        accepted names).

    Examples
    --------
    >>> match_headers(["订单编号", "买家会员名", "下单时间", "实付金额"]).roles
    {'customer': '买家会员名', 'date': '下单时间', 'amount': '实付金额', 'order_id': '订单编号'}
    """
    present = [str(h) for h in headers]
    fixed = dict(given or {})
    taken = set(fixed.values())
    candidates: dict[str, list[str]] = {role: [] for role in HEADER_NAMES}
    for header in present:
        role = _BY_NAME.get(normalise_header(header))
        if role is not None and header not in taken and role not in fixed:
            candidates[role].append(header)
    if "amount" in fixed or "quantity" in fixed or "unit_price" in fixed:
        for role in ("amount", "quantity", "unit_price"):
            candidates[role] = []
    if candidates["amount"]:
        candidates["quantity"] = candidates["unit_price"] = []
    ambiguous = {role: found for role, found in candidates.items() if len(found) > 1}
    chosen = {role: found[0] for role, found in candidates.items() if len(found) == 1}
    merged = {**chosen, **fixed}
    roles = {role: merged[role] for role in HEADER_NAMES if role in merged}
    if ambiguous:
        raise SchemaError(_ambiguous_message(ambiguous, roles))
    missing = [role for role in REQUIRED_ROLES if role not in roles]
    has_amount = "amount" in roles or ("quantity" in roles and "unit_price" in roles)
    if not has_amount:
        missing.append("amount")
    if missing:
        raise SchemaError(_missing_message(missing, roles, present))
    return ColumnMatch(roles=roles)


def _ambiguous_message(ambiguous: Mapping[str, list[str]], roles: Mapping[str, str]) -> str:
    parts = [
        f"{' and '.join(repr(h) for h in found)} both fit the {role} column"
        for role, found in ambiguous.items()
    ]
    first = {role: found[0] for role, found in ambiguous.items()}
    merged = {**roles, **first}
    suggestion = {r: merged[r] for r in HEADER_NAMES if r in merged}
    alternatives = "; ".join(
        f"or {role!r}: {h!r}" for role, found in ambiguous.items() for h in found[1:]
    )
    return (
        f"columns='auto' cannot choose: {'; '.join(parts)}. Name the columns yourself, e.g. "
        f"columns={_dict_text(suggestion)} ({alternatives})."
    )


def _missing_message(missing: list[str], roles: Mapping[str, str], present: list[str]) -> str:
    accepted = []
    for role in missing:
        names = HEADER_NAMES[role]
        if role == "amount":
            accepted.append(
                f"amount: one of {list(names)!r}, or quantity ({list(HEADER_NAMES['quantity'])!r})"
                f" with unit_price ({list(HEADER_NAMES['unit_price'])!r})"
            )
        else:
            accepted.append(f"{role}: one of {list(names)!r}")
    found = f" It matched {_dict_text(roles)}." if roles else ""
    if len(present) == 1:
        held = [sep for sep in (";", "\t", "|", ",") if sep in present[0]]
        if held:
            found += (f" The header is one column holding {held[0]!r}: the file is separated "
                      f"by it, give sep={held[0]!r}.")
    return (
        f"columns='auto' found no {' and no '.join(missing)} column among the headers "
        f"{present!r}.{found} Accepted names (any case, spaces or underscores): "
        f"{'; '.join(accepted)}. Name the columns yourself, e.g. "
        "columns={'customer': ..., 'date': ..., 'amount': ...}."
    )


def _dict_text(roles: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{role!r}: {name!r}" for role, name in roles.items()) + "}"


def header_table() -> str:
    """Return the Markdown table of ``HEADER_NAMES`` (the body of ``docs/columns.md``)."""
    lines = ["| role | accepted header names |", "|---|---|"]
    for role, names in HEADER_NAMES.items():
        lines.append(f"| `{role}` | " + ", ".join(f"`{n}`" for n in names) + " |")
    return "\n".join(lines) + "\n"
