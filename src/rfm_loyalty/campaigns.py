"""Campaigns end to end: select the audience, hold out a control group, send, measure.

The loop of the source material's plan (tag every customer, give each cohort
its action, pick the audience, push the messages through the CRM, review the
campaign), closed with a control group so that the review can answer "did it
work, compared with whom?":

1. :func:`select_audience` picks customers from an analysis with counted
   filters (lifecycle labels, segments, profit tiers, ``p_alive``, your own
   rule, an exclusion list, a contact log) and splits them into treatment and
   control, reproducibly from the campaign name and the customer id.
2. :class:`Audience` writes the send list for the CRM or SMS tool (CSV for
   Excel, GB18030 CSV, XLSX, JSON) and the assignment file kept for
   measurement, and estimates the cost.
3. :func:`campaign_lift` reads the orders after the campaign and compares
   treatment with control: response rate, revenue and orders per customer,
   with confidence intervals, per lifecycle label and segment, the
   incremental revenue and the return on the campaign's cost.

Definitions, the choice of intervals and the trade-off of the two splits are
in ``docs/campaigns.md``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rfm_loyalty._campaigns import files
from rfm_loyalty._campaigns import select as sel
from rfm_loyalty._campaigns.assign import SPLITS, balance_table, split, strata_table
from rfm_loyalty._campaigns.audience import Audience, CampaignCost
from rfm_loyalty._campaigns.hashing import assignment_draws
from rfm_loyalty._campaigns.lift import CampaignLift, campaign_lift
from rfm_loyalty._ingest.dates import as_date
from rfm_loyalty._validation import (
    Amount,
    Choice,
    Days,
    Fraction,
    Instance,
    Optional,
    Whole,
    check,
)
from rfm_loyalty.exceptions import CampaignWarning, InvalidParameterError, SchemaError

if TYPE_CHECKING:
    from rfm_loyalty.analysis import Analysis

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "CHANNEL_COSTS",
    "Audience",
    "CampaignCost",
    "CampaignLift",
    "CampaignWarning",
    "campaign_lift",
    "read_assignment",
    "select_audience",
]

#: Default cost of one contact per channel, in yuan (override with
#: ``cost_per_contact=`` in your currency). ``sms``: bulk SMS at about 0.05
#: yuan a message (the source material's figure); ``email``: about 0.01 yuan
#: a message at e-mail service volume prices (an order of magnitude);
#: ``push`` (app push) and ``wechat`` (official-account messages to
#: followers): no per-message fee, 0.
CHANNEL_COSTS: Mapping[str, float] = MappingProxyType(
    {"sms": 0.05, "email": 0.01, "push": 0.0, "wechat": 0.0}
)
#: Columns of the assignment file: (name, dtype, meaning, when).
ASSIGNMENT_COLUMNS = files.ASSIGNMENT_COLUMNS
_OWNER = "select_audience"
_COVARIATES = ("recency_days", "frequency", "monetary_total", "p_alive")
_MODEL_COLUMNS = ("p_alive", "expected_purchases", "clv")
_TIER_ORDER = ("profitable", "break_even", "resource_wasting")


def select_audience(
    analysis_or_customers: Analysis | pd.DataFrame,
    *,
    name: str,
    lifecycle: str | Sequence[str] | None = None,
    segments: str | Sequence[str] | None = None,
    tiers: str | Sequence[str] | None = None,
    min_p_alive: float | None = None,
    where: str | Callable[[pd.DataFrame], Any] | None = None,
    exclude: Iterable[Any] | pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
    min_days_between_contacts: int | None = None,
    max_size: int | None = None,
    holdout: float | int = 0.1,
    split: str = "stable",
    date: Any = None,
    channel: str = "sms",
    cost_per_contact: float | None = None,
    template: str | Mapping[str, str] | None = None,
    passthrough: Sequence[str] = (),
) -> Audience:
    """Pick a campaign's audience with counted filters and split it into treatment and control.

    The filters run in this order, each on the customers the previous ones
    kept, and ``Audience.funnel`` counts what each removed:

    1. ``lifecycle``, ``segments``, ``tiers``, ``min_p_alive``, ``where``:
       who the campaign is for;
    2. ``exclude``, ``contacts``: who must not be contacted;
    3. ``max_size``: the budget.

    Parameters
    ----------
    analysis_or_customers : Analysis or pandas.DataFrame
        The result of :func:`~rfm_loyalty.analysis.analyze`, its
        ``customers`` table, or the customers table of an export
        (``read_export(folder, "customers")``): ids as the ``customer_id``
        index or column (text), with ``lifecycle``, ``lifecycle_zh``,
        ``action``, ``action_zh``, ``segment``, ``recency_days``,
        ``frequency`` and ``monetary_total``. Never modified.
    name : str
        Campaign name, e.g. ``"winback-2025-01"``. It keys the assignment:
        the same name and customer always give the same draw.
    lifecycle, segments, tiers : str or list of str, optional
        Keep these lifecycle labels, RFM segments, profit tiers (``tiers``
        needs the ``tier`` column: a cost input to ``analyze``).
    min_p_alive : float, optional
        Keep customers with ``p_alive >= min_p_alive`` (needs ``models=True``;
        a missing ``p_alive`` does not pass).
    where : str or callable, optional
        Your own rule: a :meth:`pandas.DataFrame.eval` expression over the
        customer table (``"monetary_total > 500 and frequency >= 2"``) or a
        function of the table returning one True/False per customer.
    exclude : list of ids or DataFrame with ``customer_id``, optional
        Customers never to contact (opt-outs, staff, complaints).
    contacts : pandas.DataFrame, optional
        Contact log: ``customer_id``, ``contact_date`` (datetimes or ISO text)
        and optionally ``channel``; every channel counts. Needs
        ``min_days_between_contacts``.
    min_days_between_contacts : int, optional
        A customer with a logged contact fewer than this many days before or
        after the campaign ``date`` is removed: with 7, a contact on 1 June
        allows a campaign on 8 June and blocks one on 7 June. Contacts after
        the date (planned sends) count too.
    max_size : int, optional
        At most this many customers (treatment and control): the highest
        ``clv`` when the models ran (else the highest ``monetary_total``),
        ties broken by the lower draw, so the pick is deterministic.
    holdout : float or int, default 0.1
        The control group: a share in [0, 1) of the audience or a count of
        customers. 0 sends to everyone (the lift then cannot be measured).
    split : {"stable", "exact"}, default "stable"
        ``"stable"``: control when the customer's draw is below the share (a
        count is turned into the share ``count / audience size``); a customer
        keeps their group when the audience grows. ``"exact"``: the control
        size (the count, or the share x audience size rounded half up) is
        shared among the lifecycle x segment strata in proportion to their
        sizes (largest remainder), each stratum's quota filled by its lowest
        draws; exact counts, but a larger audience can move a customer. See
        Notes.
    date : date-like, optional
        Campaign date, the contact rule's reference day. Default: the
        analysis date (``as_of``) of the analysis or of the table
        (``customers.attrs["as_of"]``); required when neither is known.
    channel : str, default "sms"
        The channel of the send list and of the cost estimate.
    cost_per_contact : float, optional
        Cost of one contact; default ``CHANNEL_COSTS[channel]`` (in yuan).
        Required for a channel that is not in :data:`CHANNEL_COSTS`.
    template : str or mapping of lifecycle label to str, optional
        The message-template slot of the send list: one template for all, or
        one per lifecycle label (every label of the audience needs one).
        Default ``"<name>/<lifecycle label>"``.
    passthrough : sequence of str, default ()
        Columns of the customer table copied into the send list after the id
        (names, mobile numbers, member ids).

    Returns
    -------
    Audience
        ``table`` is indexed by ``customer_id`` (text), one row per selected
        customer, sorted by id, with the columns (dtype, meaning):

        - ``group`` (category: treatment, control);
        - ``stratum`` (text): ``"<lifecycle> / <segment>"``;
        - ``draw`` (float64): the assignment draw in [0, 1), SipHash-2-4 of
          the UTF-8 id keyed with BLAKE2b-128 of the UTF-8 campaign name (top
          53 bits / 2**53);
        - ``lifecycle`` (ordered category), ``lifecycle_zh``, ``segment``
          (category), ``action``, ``action_zh`` (the lifecycle action, English
          and Chinese), ``template`` (text);
        - ``why`` (text): the targeting rules the customer met, e.g.
          ``"lifecycle high_recovery; p_alive 0.41 >= 0.30"``;
        - ``recency_days``, ``frequency`` (int64), ``monetary_total``
          (float64); ``tier`` with a cost input; ``p_alive``,
          ``expected_purchases``, ``clv`` (float64) when the models ran;
          then the ``passthrough`` columns.

        ``funnel``, ``balance`` (standardised mean differences), ``strata``
        and ``cost`` are described in :class:`Audience`.

    Raises
    ------
    InvalidParameterError
        A parameter is invalid (checked before the table is read), a label
        is unknown, ``where`` fails, or a holdout count exceeds the audience.
    SchemaError
        The table lacks a column a filter needs (``p_alive``, ``tier``),
        has duplicate or decimal ids, or the contact log is unreadable.

    Notes
    -----
    The two splits trade exact stratum counts against stability. If every
    customer's group must survive every enlargement of the audience, it must
    be the group the customer would get in an audience of one: a function of
    the campaign and the customer alone (the ``"stable"`` split). Then how
    many controls a stratum gets is up to its customers' draws: with a 10%
    holdout, a stratum of 100 customers has 10 +/- 3 of them. The overall
    comparison is unbiased either way; ``strata`` shows each stratum's split
    and ``balance`` how alike the groups are (|smd| < 0.1 is the usual bar,
    Austin 2009).

    Examples
    --------
    >>> from rfm_loyalty import analyze
    >>> from rfm_loyalty.campaigns import select_audience
    >>> from rfm_loyalty.datasets import load_sample_orders
    >>> result = analyze(load_sample_orders())
    >>> audience = select_audience(result, name="winback", lifecycle=["high_recovery",
    ...                            "low_recovery"], exclude=["C0042"])
    >>> audience.funnel
            step                                            rule  removed  remaining
    0  customers                     every customer of the table        0       1000
    1  lifecycle  lifecycle in ['high_recovery', 'low_recovery']      627        373
    2    exclude                       1 ids of the exclude list        0        373
    >>> audience.table["group"].value_counts().to_dict()
    {'treatment': 327, 'control': 46}
    """
    p = _check_params(locals())
    table, as_of = sel.customer_table(analysis_or_customers)
    campaign_date = p["date"] if p["date"] is not None else as_of
    if campaign_date is None:
        raise InvalidParameterError(
            f"{_OWNER} needs the campaign date: pass date='2025-01-15' (the customer table "
            "does not say its analysis date)."
        )
    _check_labels(table)
    missing = [c for c in p["passthrough"] if c not in table.columns]
    if missing:
        raise SchemaError(
            f"The passthrough columns {missing!r} are not in the customer table. Columns "
            f"found: {[str(c) for c in table.columns]!r}."
        )
    steps: list[tuple[str, str, np.ndarray]] = []
    # why a customer was kept, one part per targeting rule, built for the kept rows only
    reasons: list[Callable[[np.ndarray], np.ndarray]] = []
    notes: list[str] = []
    keep = np.ones(len(table), dtype=bool)

    def apply(step: str, rule: str, passes: np.ndarray) -> None:
        nonlocal keep
        before = keep
        keep = keep & passes
        steps.append((step, rule, before & ~keep))

    for step, column in (("lifecycle", "lifecycle"), ("segments", "segment"),
                         ("tiers", "tier")):
        if p[step] is None:
            continue
        if column not in table.columns:
            raise SchemaError(
                f"{_OWNER}(tiers=...) needs the 'tier' column: analyze with a cost input "
                "(margin= or a cost column)."
            )
        if column == "tier":
            table["tier"] = sel._ordered(table["tier"], _TIER_ORDER)
        chosen = sel.labels(p[step], table, column, name=step)
        apply(step, f"{column} in {chosen!r}", table[column].isin(chosen).to_numpy())
        reasons.append(_label_reason(table[column], column))
    if p["min_p_alive"] is not None:
        if "p_alive" not in table.columns:
            raise SchemaError(
                f"{_OWNER}(min_p_alive=...) needs the 'p_alive' column: analyze(..., "
                "models=True)."
            )
        threshold = p["min_p_alive"]
        alive = table["p_alive"].to_numpy(dtype=float)
        apply("min_p_alive", f"p_alive >= {threshold:g}", alive >= threshold)
        reasons.append(_alive_reason(alive, threshold))
    if where is not None:
        rule = where if isinstance(where, str) else getattr(where, "__name__", "rule")
        apply("where", str(rule), sel.where_mask(where, table))
        reasons.append(_constant_reason(f"where {rule}"))
    if exclude is not None:
        ids = sel.excluded_ids(exclude)
        unknown = int((~ids.isin(table.index)).sum())
        if unknown:
            notes.append(f"{unknown:,} ids of the exclude list are not in the customer table.")
        apply("exclude", f"{len(ids):,} ids of the exclude list", ~table.index.isin(ids))
    if contacts is not None:
        blocked, log_rows = sel.recently_contacted(table.index, contacts, campaign_date,
                                                   p["min_days_between_contacts"])
        days = p["min_days_between_contacts"]
        apply("contacts", f"contacted fewer than {days} days from {campaign_date.date()} "
              f"({log_rows:,} of {len(contacts):,} log rows)", ~blocked)
    draws_all = np.full(len(table), np.nan)
    draws_all[keep] = assignment_draws(name, table.index.to_numpy()[keep])
    if p["max_size"] is not None:
        value_column = "clv" if "clv" in table.columns else "monetary_total"
        value = table[value_column].to_numpy(dtype=float)
        order = np.lexsort((draws_all, -np.nan_to_num(value, nan=-np.inf), ~keep))
        top = np.zeros(len(table), dtype=bool)
        top[order[: min(p["max_size"], int(keep.sum()))]] = True
        apply("max_size", f"the {p['max_size']:,} highest {value_column}, ties by draw", top)
    rows = np.flatnonzero(keep)
    needed = [c for c in table.columns if c in (*sel.REQUIRED, "tier", *_MODEL_COLUMNS)]
    chosen_rows = table.iloc[rows][needed + [c for c in p["passthrough"] if c not in needed]]
    chosen_rows = chosen_rows.assign(draw=draws_all[rows], why=_why(reasons, rows))
    return _build(chosen_rows, table, steps, notes, p, campaign_date)


def _label_reason(labels: pd.Series, column: str) -> Callable[[np.ndarray], np.ndarray]:
    """Return the reason of a label filter, ``"<column> <label>"``, by category codes."""
    texts = np.array([f"{column} {c}" for c in labels.cat.categories] + [""], dtype=object)
    codes = labels.cat.codes.to_numpy()
    return lambda rows: texts[codes[rows]]


def _alive_reason(alive: np.ndarray, threshold: float) -> Callable[[np.ndarray], np.ndarray]:
    def reason(rows: np.ndarray) -> np.ndarray:
        shown = np.char.mod("%.2f", alive[rows])
        return np.char.add(np.char.add("p_alive ", shown), f" >= {threshold:.2f}").astype(object)

    return reason


def _constant_reason(text: str) -> Callable[[np.ndarray], np.ndarray]:
    return lambda rows: np.full(len(rows), text, dtype=object)


def _why(reasons: list[Callable[[np.ndarray], np.ndarray]], rows: np.ndarray) -> np.ndarray:
    if not reasons:
        return np.full(len(rows), "all customers", dtype=object)
    why = reasons[0](rows)
    for reason in reasons[1:]:
        why = why + "; " + reason(rows)
    return why


def _check_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of select_audience checked before the table is read."""
    p = dict(values)
    name = p["name"]
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError(
            f"The 'name' parameter of {_OWNER} must be a non-empty text, e.g. "
            f"name='winback-2025-01'. Got {name!r} instead."
        )
    holdout = p["holdout"]
    if isinstance(holdout, (bool, np.bool_)) or not isinstance(
        holdout, (int, float, np.integer, np.floating)
    ) or (isinstance(holdout, (float, np.floating)) and not 0 <= holdout < 1) or (
        isinstance(holdout, (int, np.integer)) and holdout < 0
    ):
        raise InvalidParameterError(
            f"The 'holdout' parameter of {_OWNER} must be a share in [0, 1) (e.g. 0.1) or a "
            f"whole number of customers >= 0 (e.g. 500). Got {holdout!r} instead."
        )
    p["holdout"] = int(holdout) if isinstance(holdout, (int, np.integer)) else float(holdout)
    p["split"] = check(p["split"], Choice(*SPLITS), name="split", owner=_OWNER)
    p["min_p_alive"] = check(p["min_p_alive"], Optional(Fraction()), name="min_p_alive",
                             owner=_OWNER)
    p["max_size"] = check(p["max_size"], Optional(Whole(minimum=1, example=5000)),
                          name="max_size", owner=_OWNER)
    p["min_days_between_contacts"] = check(
        p["min_days_between_contacts"], Optional(Days(example=7)),
        name="min_days_between_contacts", owner=_OWNER)
    if (p["contacts"] is None) != (p["min_days_between_contacts"] is None):
        raise InvalidParameterError(
            f"{_OWNER} needs both 'contacts' (the contact log) and 'min_days_between_contacts' "
            "(e.g. 7), or neither. Got only "
            f"{'contacts' if p['contacts'] is not None else 'min_days_between_contacts'}."
        )
    p["date"] = None if p["date"] is None else as_date(p["date"], name="date")
    channel = check(p["channel"], Instance((str,), "a channel name such as 'sms'"),
                    name="channel", owner=_OWNER)
    p["cost_per_contact"] = check(p["cost_per_contact"], Optional(Amount(example=0.05)),
                                  name="cost_per_contact", owner=_OWNER)
    if p["cost_per_contact"] is None and channel not in CHANNEL_COSTS:
        raise InvalidParameterError(
            f"{_OWNER} has no default cost for the channel {channel!r}; pass "
            f"cost_per_contact= (the channels with a default: {dict(CHANNEL_COSTS)!r})."
        )
    template = p["template"]
    if template is not None and not isinstance(template, (str, Mapping)):
        raise InvalidParameterError(
            f"The 'template' parameter of {_OWNER} must be a text, a mapping of lifecycle "
            f"label to text, or None. Got {template!r} instead."
        )
    passthrough = p["passthrough"]
    if isinstance(passthrough, str) or not all(isinstance(c, str) for c in passthrough):
        raise InvalidParameterError(
            f"The 'passthrough' parameter of {_OWNER} must be a list of column names, e.g. "
            f"['name', 'mobile']. Got {passthrough!r} instead."
        )
    p["passthrough"] = tuple(passthrough)
    return p


def _check_labels(table: pd.DataFrame) -> None:
    for column in ("lifecycle", "segment"):
        missing = int(table[column].isna().sum())
        if missing:
            raise SchemaError(
                f"{missing:,} customers have no {column} label; every customer of the "
                f"table needs one (they define the strata of the control group)."
            )


def _templates(template: str | Mapping[str, str] | None, name: str,
               lifecycle: pd.Series) -> np.ndarray:
    if isinstance(template, str):
        return np.full(len(lifecycle), template, dtype=object)
    categories = [str(c) for c in lifecycle.cat.categories]
    codes = lifecycle.cat.codes.to_numpy()
    if template is None:
        per_label = [f"{name}/{c}" for c in categories]
    else:
        present = [categories[c] for c in np.unique(codes)]
        missing = sorted(set(present) - set(template))
        if missing:
            raise InvalidParameterError(
                f"The 'template' mapping of {_OWNER} has no template for the lifecycle labels "
                f"{missing!r} of the audience; add them or pass one template for all."
            )
        per_label = [str(template.get(c, "")) for c in categories]
    return np.array(per_label, dtype=object)[codes]


def _build(chosen: pd.DataFrame, table: pd.DataFrame, steps: list[tuple[str, str, np.ndarray]],
           notes: list[str], p: dict[str, Any], campaign_date: pd.Timestamp) -> Audience:
    name, holdout, n = p["name"], p["holdout"], len(chosen)
    if isinstance(holdout, int) and holdout > n:
        raise InvalidParameterError(
            f"The 'holdout' parameter of {_OWNER} asks for {holdout:,} control customers but "
            f"the audience has {n:,}; pass a smaller count or a share such as 0.1."
        )
    # sorted by id; numpy sorts fixed-width text in C, object arrays one comparison at a time
    chosen = chosen.iloc[np.argsort(chosen.index.to_numpy().astype(str), kind="stable")]
    stratum = _strata(chosen["lifecycle"], chosen["segment"])
    is_control = split(chosen["draw"].to_numpy(), stratum, holdout, p["split"])
    model_columns = [c for c in _MODEL_COLUMNS if c in chosen.columns]
    extra = (["tier"] if "tier" in chosen.columns else []) + model_columns
    columns: dict[str, Any] = {
        "group": pd.Categorical(np.where(is_control, "control", "treatment"),
                                categories=["treatment", "control"]),
        "stratum": stratum, "draw": chosen["draw"].to_numpy(dtype=float),
        # .array keeps each column's own type (categories, text) without a conversion
        **{c: chosen[c].array for c in ("lifecycle", "lifecycle_zh", "segment", "action",
                                        "action_zh")},
        "template": _templates(p["template"], name, chosen["lifecycle"]),
        "why": chosen["why"].array,
        "recency_days": chosen["recency_days"].to_numpy(dtype=np.int64),
        "frequency": chosen["frequency"].to_numpy(dtype=np.int64),
        "monetary_total": chosen["monetary_total"].to_numpy(dtype=float),
        **{c: chosen[c].array for c in (*extra, *p["passthrough"])},
    }
    out = pd.DataFrame(columns, index=chosen.index)
    funnel = _funnel(len(table), steps)
    covariates = [c for c in _COVARIATES if c in out.columns]
    if "p_alive" not in out.columns:
        notes.append("p_alive is not in the customer table (analyze(..., models=True)): the "
                     "balance leaves it out.")
    n_control = int(is_control.sum())
    if n_control == 0:
        notes.append("There is no control group: campaign_lift cannot measure this campaign.")
    cost_per_contact = p["cost_per_contact"]
    source = "given" if cost_per_contact is not None else "CHANNEL_COSTS"
    if cost_per_contact is None:
        cost_per_contact = CHANNEL_COSTS[p["channel"]]
    contacts = n - n_control
    cost = CampaignCost(p["channel"], contacts, float(cost_per_contact),
                        round(contacts * float(cost_per_contact), 10), source)
    return Audience(
        name=name, date=campaign_date, table=out, funnel=funnel,
        balance=balance_table(out, covariates), strata=strata_table(out), cost=cost,
        holdout=holdout, split=p["split"], channel=p["channel"], notes=tuple(notes),
        params=MappingProxyType(_params(p, campaign_date)), passthrough=p["passthrough"],
    )


def _strata(lifecycle: pd.Series, segment: pd.Series) -> np.ndarray:
    """``"<lifecycle> / <segment>"`` per customer, through the category codes."""
    life, seg = lifecycle.cat.codes.to_numpy(), segment.cat.codes.to_numpy()
    n_seg = len(segment.cat.categories)
    combined, inverse = np.unique(life.astype(np.int64) * n_seg + seg, return_inverse=True)
    names = np.array([f"{lifecycle.cat.categories[c // n_seg]} / "
                      f"{segment.cat.categories[c % n_seg]}" for c in combined], dtype=object)
    return names[inverse.ravel()]


def _funnel(n: int, steps: list[tuple[str, str, np.ndarray]]) -> pd.DataFrame:
    rows = [("customers", "every customer of the table", 0, n)]
    remaining = n
    for step, rule, removed in steps:
        count = int(removed.sum())
        remaining -= count
        rows.append((step, rule, count, remaining))
    frame = pd.DataFrame(rows, columns=["step", "rule", "removed", "remaining"])
    return frame.astype({"step": files._TEXT, "rule": files._TEXT, "removed": "int64",
                         "remaining": "int64"})


def _params(p: Mapping[str, Any], campaign_date: pd.Timestamp) -> dict[str, Any]:
    where = p["where"]
    listed = {k: (list(v) if isinstance(v, (list, tuple)) else v)
              for k, v in p.items() if k in ("lifecycle", "segments", "tiers")}
    template = p["template"]
    return {
        "name": p["name"], **listed, "min_p_alive": p["min_p_alive"],
        "where": where if where is None or isinstance(where, str)
        else f"<function {getattr(where, '__name__', 'rule')}>",
        "exclude": None if p["exclude"] is None else "given",
        "contacts": None if p["contacts"] is None else f"{len(p['contacts'])} rows",
        "min_days_between_contacts": p["min_days_between_contacts"],
        "max_size": p["max_size"], "holdout": p["holdout"], "split": p["split"],
        "date": campaign_date.date().isoformat(), "date_given": p["date"] is not None,
        "channel": p["channel"], "cost_per_contact": p["cost_per_contact"],
        "template": dict(template) if isinstance(template, Mapping) else template,
        "passthrough": list(p["passthrough"]),
    }


def read_assignment(path: str | os.PathLike[str], *, format: str | None = None) -> pd.DataFrame:
    """Read an assignment file written by :meth:`Audience.write_assignments` or ``export``.

    Parameters
    ----------
    path : path-like
        ``.csv`` (UTF-8 with or without BOM, or GB18030), ``.xlsx`` or
        ``.json``.
    format : {"csv", "xlsx", "json"}, optional
        Default: from the suffix.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`ASSIGNMENT_COLUMNS` found in the file, in that
        order and dtype (text, datetime64[ns], float64, int64); CSV and JSON
        give back exactly what was written, XLSX keeps Excel's 15 significant
        digits of a number. Ids that the
        CSV/XLSX writer neutralised (``'=1+1``) are returned as they were
        (``=1+1``), so they match the orders.

    Raises
    ------
    SchemaError
        The file lacks ``campaign``, ``campaign_date``, ``customer_id`` or
        ``group``, or ``group`` holds other values than treatment/control.

    Examples
    --------
    >>> import tempfile, os
    >>> from rfm_loyalty import analyze
    >>> from rfm_loyalty.datasets import load_sample_orders
    >>> audience = select_audience(analyze(load_sample_orders()), name="spring")
    >>> path = audience.write_assignments(os.path.join(tempfile.mkdtemp(), "a.csv"))
    >>> read_assignment(path).equals(audience.assignments())
    True
    """
    return files.read_assignment(Path(path), format, owner="read_assignment")


_ = (Audience, CampaignLift, CampaignWarning, campaign_lift)  # re-exported
