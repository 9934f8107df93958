"""One call for a notebook: :func:`analyze` runs every step and returns an :class:`Analysis`.

This module only orchestrates: it prepares the orders once, calls the
scoring, segment, lifecycle, churn, profitability and model modules, and
joins their per-customer outputs into one customer table. It computes no
figure of its own; every number comes from the module that owns it.
Reading the input and recording its provenance (hashes, parameters) lives
in :mod:`rfm_loyalty._analysis_input`; the profit, model and label-table
steps in :mod:`rfm_loyalty._analysis_parts`. Rendering (the text and
notebook views and the HTML report) lives in :mod:`rfm_loyalty.report`,
export in :mod:`rfm_loyalty.export`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rfm_loyalty import _views
from rfm_loyalty._analysis_input import (
    InputInfo,
    call_params,
    plan_input,
    read_input,
)
from rfm_loyalty._analysis_input import file_sha256 as file_sha256  # re-exported
from rfm_loyalty._analysis_input import frame_sha256 as frame_sha256  # re-exported
from rfm_loyalty._analysis_parts import (
    ENGINE_ORDER_LEVEL_NOTE,
    ModelResults,
    base_rows,
    check_profit_inputs,
    customer_ranks,
    empty_churn,
    empty_flow,
    empty_retention,
    fit_models,
    profit_and_note,
    segment_names_zh,
    summarise_lifecycle,
    summarise_segments,
)
from rfm_loyalty._analysis_settings import check_settings
from rfm_loyalty._caveats import Caveat, Population, analysis_caveats, population_of
from rfm_loyalty._warnings import warn_user
from rfm_loyalty.churn import (
    churn_from_rfm,
    churn_summary_from,
    cohort_retention,
    customer_flow,
)
from rfm_loyalty.concentration import ParetoResult, pareto
from rfm_loyalty.engines import EngineSource
from rfm_loyalty.exceptions import SchemaError
from rfm_loyalty.lifecycle import LifecycleRules, lifecycle_from_base
from rfm_loyalty.loyalty import LoyaltyTables, loyalty_tables
from rfm_loyalty.orders import OrderColumns, Orders, QualityReport
from rfm_loyalty.profitability import ProfitabilityResult
from rfm_loyalty.scoring import RFMScorer
from rfm_loyalty.segments import Segment, assign_segments
from rfm_loyalty.summary import CustomerBase, btyd_from_aggregates, rfm_from_aggregates

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["Analysis", "InputInfo", "ModelResults", "analyze"]


@dataclass(frozen=True, eq=False)
class Analysis:
    """Everything :func:`analyze` computed, with its parameters and provenance.

    Attributes
    ----------
    customers : pandas.DataFrame
        One row per customer with at least one purchase, index ``customer_id``
        (see :func:`analyze` for every column).
    segments : pandas.DataFrame
        One row per RFM segment (see :func:`analyze`).
    lifecycle : pandas.DataFrame
        One row per lifecycle cohort with its action (see :func:`analyze`).
    pareto : ParetoResult
        Revenue concentration of ``customers["monetary_total"]``.
    profitability : ProfitabilityResult or None
        Profit concentration, 80/20/30 check and tiers; None without a cost
        input, ``profitability_note`` saying why.
    profitability_note : str
        Empty when ``profitability`` is set, else the reason it is None.
    churn : pandas.DataFrame
        ``churn_summary`` per RFM segment (index ``segment``).
    retention : pandas.DataFrame
        ``cohort_retention(metric="retention")``: acquisition cohorts by
        periods since acquisition.
    flow : pandas.DataFrame
        ``customer_flow``: new, retained, reactivated, churned per period.
    models : ModelResults or None
        The fitted BG/NBD and Gamma-Gamma models with ``models=True``.
    quality : QualityReport
        Row and amount accounting of the input.
    as_of : pandas.Timestamp
        The analysis date.
    params : Mapping
        Every parameter of the call, JSON-serialisable (read-only).
    input : InputInfo
        Source, hash and row count of the input.
    scorer : RFMScorer
        The fitted scorer; ``scorer.bin_edges_`` scores other tables on the
        same scale.
    order_level_note : str
        Empty, or why the parts that need every order are empty: for an
        engine source (``from_duckdb``, ``from_spark``) ``churn``,
        ``retention`` and ``flow`` have their columns but no row and the
        customers' ``median_gap_days`` and ``silence_in_gaps`` are NaN.
    caveats : tuple of Caveat
        What the tables cannot show (assumed-margin profit, warm-up
        periods, partial periods, an ``as_of`` after the data, returns-only
        customers, model warnings, small groups...), each with the tables it
        concerns; see ``docs/definitions.md`` ("Caveats").
    population : Population
        The customers, orders, money (gross sales, returns, net revenue) and
        dates the analysis covers, with the reconciliation of the customer
        counts of its tables.
    loyalty : LoyaltyTables or None
        With ``loyalty=True``: the loyalty tables, what is left out and why,
        and the notes to show beside them.
    """

    customers: pd.DataFrame
    segments: pd.DataFrame
    lifecycle: pd.DataFrame
    pareto: ParetoResult
    profitability: ProfitabilityResult | None
    profitability_note: str
    churn: pd.DataFrame
    retention: pd.DataFrame
    flow: pd.DataFrame
    models: ModelResults | None
    quality: QualityReport
    as_of: pd.Timestamp
    params: Mapping[str, Any]
    input: InputInfo
    scorer: RFMScorer = field(repr=False)
    order_level_note: str = ""
    caveats: tuple[Caveat, ...] = ()
    population: Population | None = None
    loyalty: LoyaltyTables | None = None

    # ------------------------------------------------------------ views
    def __str__(self) -> str:
        return str(_views.view("text_summary")(self))

    def __repr__(self) -> str:
        return (
            f"Analysis(as_of={self.as_of.date()}, customers={len(self.customers):,}, "
            f"segments={len(self.segments)}, profit={self.profitability is not None}, "
            f"models={self.models is not None})"
        )

    def _repr_html_(self) -> str:
        return str(_views.view("html_dashboard")(self))

    # ----------------------------------------------------- hand-off
    def campaign_lists(self, by: str = "lifecycle") -> dict[str, pd.DataFrame]:
        """Split the customers into campaign lists per lifecycle cohort or segment.

        Parameters
        ----------
        by : {"lifecycle", "segment"}, default "lifecycle"
            Which label to split on.

        Returns
        -------
        dict of str to pandas.DataFrame
            One entry per label that has customers, in the label order. Each
            frame has a default index and the columns of the exported
            ``campaigns_lifecycle`` / ``campaigns_segment`` table
            (``docs/export.md``): ``customer_id``, ``label``, (``label_zh``),
            ``action``, (``action_zh``), all text.
        """
        table = _views.view("campaign_table")(self, by=by)
        return {
            str(label): group.reset_index(drop=True)
            for label, group in table.groupby("label", sort=False, observed=True)
        }

    def export(
        self, path: str | os.PathLike[str], format: str | Sequence[str] = "csv", *,
        timestamp: bool = True, report: bool = False,
    ) -> list[Path]:
        """Write one file per table plus ``metadata.json`` into a folder.

        See :func:`rfm_loyalty.export.export_analysis`.

        Parameters
        ----------
        path : path-like
            Folder; created when missing.
        format : str or sequence of str, default "csv"
            ``"csv"``, ``"parquet"``, ``"json"``, ``"xlsx"``, or several.
        timestamp : bool, default True
            Record when the export was made (``SOURCE_DATE_EPOCH`` fixes it);
            False leaves it out, so that the same analysis gives the same bytes.
        report : bool, default False
            Also write ``report.html``, in the same atomic swap.

        Returns
        -------
        list of pathlib.Path
            The files written, ``metadata.json`` last.
        """
        return list(_views.view("export_analysis")(self, path, format=format,
                                                   timestamp=timestamp, report=report))

    def to_sql(
        self, url_or_engine: str | Engine, *, prefix: str = "rfm_", if_exists: str = "fail",
        timestamp: bool = True,
    ) -> list[str]:
        """Write every table (and the metadata) to a database through SQLAlchemy.

        See :func:`rfm_loyalty.export.write_sql`.

        Parameters
        ----------
        url_or_engine : str or sqlalchemy.engine.Engine
            Database URL (``"sqlite:///rfm.db"``, ``"postgresql+psycopg://..."``)
            or an engine.
        prefix : str, default "rfm_"
            Prefix of the table names (lower-case letters, digits, ``_``).
        if_exists : {"fail", "replace", "append"}, default "fail"
            What to do when a table exists.
        timestamp : bool, default True
            Record when the tables were written (see :meth:`export`).

        Returns
        -------
        list of str
            The table names written.
        """
        return list(_views.view("write_sql")(self, url_or_engine, prefix=prefix,
                                             if_exists=if_exists, timestamp=timestamp))

    def report(self, path: str | os.PathLike[str], *, timestamp: bool = True,
               lang: str = "en") -> Path:
        """Write the self-contained HTML report.

        See :func:`rfm_loyalty.report.write_report`.

        Parameters
        ----------
        path : path-like
            The ``.html`` file to write.
        timestamp : bool, default True
            Say when the report was made (see :meth:`export`).
        lang : {"en", "zh"}, default "en"
            ``"zh"``: Chinese titles, chart labels and names in the tables.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        return Path(_views.view("write_report")(self, path, timestamp=timestamp, lang=lang))


# --------------------------------------------------------------------------- #
# analyze
# --------------------------------------------------------------------------- #
def analyze(
    data: pd.DataFrame | Orders | EngineSource | str | os.PathLike[str],
    columns: OrderColumns | Mapping[str, str] | str | None = None,
    *,
    as_of: Any = None,
    n_bins: int = 5,
    segments: str | Sequence[Segment] = "default",
    lifecycle: LifecycleRules | None = None,
    margin: float | None = None,
    cost_per_order: float = 0.0,
    cost_per_customer: float = 0.0,
    models: bool | str | Sequence[str] = False,
    churn_days: int = 360,
    period: str = "M",
    horizon_months: int = 12,
    discount_rate_monthly: float = 0.01,
    loyalty: bool = False,
    loyalty_options: Mapping[str, Any] | None = None,
    returns: str = "net",
    valid_statuses: Iterable[Any] | None = None,
    **read_options: Any,
) -> Analysis:
    """Run the whole analysis: scores, segments, lifecycle, churn, profit, models.

    Parameters
    ----------
    data : pandas.DataFrame, Orders, EngineSource or path
        Order lines as a DataFrame, a ``.csv``/``.csv.gz``/``.parquet`` file
        (read with :func:`~rfm_loyalty.orders.read_orders`), prepared
        :class:`~rfm_loyalty.orders.Orders`, or lines held by an engine
        (:func:`~rfm_loyalty.engines.from_duckdb`,
        :func:`~rfm_loyalty.engines.from_spark`). Never modified. An engine
        source is aggregated per customer once, inside the engine (window:
        ``lifecycle.window_days``); the parts that need every order are then
        empty, ``Analysis.order_level_note`` says which (see Notes).
    columns : OrderColumns, dict or "auto", optional
        Column names of ``data``: ``OrderColumns``, a dict of role -> name, or
        ``"auto"`` (matched from the header by the English and Chinese names
        of ``docs/columns.md``; the mapping is recorded in ``params``).
        Default for a DataFrame: the canonical names
        (``customer_id``, ``order_date``, ``amount``) plus ``order_id``,
        ``cost`` and ``status`` when such columns exist; for a file:
        ``OrderColumns()``. Must stay None for ``Orders`` and an engine
        source (their columns are given to ``prepare_orders``/``read_orders``
        or ``from_duckdb``/``from_spark``).
    as_of : date-like, optional
        Analysis date; default the last order date. Stored in the result.
    n_bins : int, default 5
        Score bands per dimension (:class:`~rfm_loyalty.scoring.RFMScorer`).
        At most 5 with a segment preset (the presets are written for 1..5).
    segments : str or sequence of Segment, default "default"
        Segment rules: a preset name or your own rule set.
    lifecycle : LifecycleRules, optional
        Lifecycle windows; default ``LifecycleRules()`` (45/90/180/360 days).
    margin : float, optional
        Gross margin as a fraction of revenue, for profit when the orders
        have no cost column.
    cost_per_order, cost_per_customer : float, default 0.0
        Cost to serve, in the orders' currency (see
        :func:`~rfm_loyalty.profitability.customer_profit`). Need a cost input.
    models : bool, str or sequence of str, default False
        Fit customer-base models and add ``p_alive``, ``expected_purchases``
        and ``clv``: ``True`` fits BG/NBD; names among ``"bgnbd"``,
        ``"mbgnbd"``, ``"paretonbd"`` fit each and keep the one with the
        lowest BIC (``Analysis.models.comparison`` shows them side by side).
        Gamma-Gamma gives the spend for ``clv``.
    churn_days : int, default 360
        Days of silence after which a customer is churned.
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Period of the retention matrix and the customer flow.
    horizon_months : int, default 12
        Horizon of ``expected_purchases`` and ``clv`` (months of 30.4375 days).
    discount_rate_monthly : float, default 0.01
        Monthly discount rate of the CLV.
    loyalty : bool, default False
        Add the loyalty views (:func:`~rfm_loyalty.loyalty.loyalty_tables`):
        the per-customer loyalty columns join the customer table, the tables
        are in ``Analysis.loyalty``. Needs the orders (not an engine source).
    loyalty_options : dict, optional
        Options of :func:`~rfm_loyalty.loyalty.loyalty_tables` (member tier
        ``thresholds``, a ``survey``, ``window_days``, ...).
    returns : {"net", "drop", "error"}, default "net"
        Returns policy of :func:`~rfm_loyalty.orders.prepare_orders`. For an
        engine source leave the default: the source carries its own.
    valid_statuses : iterable, optional
        Only these order statuses count (needs a status column). For an
        engine source leave None: the source carries its own.
    **read_options
        The other reading options of :func:`~rfm_loyalty.orders.read_orders`
        (``date_format``, ``dayfirst``, ``tz``, ``encoding``, ``sep``,
        ``decimal``, ``thousands``, ``sheet_name``, ``zero_amount``,
        ``on_bad_rows``, ``amount_decimals``; see
        :class:`~rfm_loyalty.orders.ReadOptions`), for a file or a DataFrame.
        Prepared Orders and engine sources carry their own: giving one there
        raises.

    Every parameter, the reading options included, is checked before any
    data is read: a wrong value fails in milliseconds.

    Returns
    -------
    Analysis
        ``customers`` is indexed by ``customer_id``, one row per customer with
        a purchase; columns in this order (dtype, meaning):

        - ``first_purchase, last_purchase`` (datetime64[ns]), ``recency_days,
          tenure_days, active_span_days, frequency, purchase_days`` (int64),
          ``monetary_total, monetary_mean`` (float64): :func:`rfm_table`.
        - ``r_score, f_score, m_score`` (int64), ``rfm_code`` (text),
          ``rfm_score`` (int64): :class:`RFMScorer`.
        - ``segment`` (ordered category): :func:`assign_segments`;
          ``segment_zh`` (category): its Chinese name.
        - ``lifecycle`` (ordered category), ``lifecycle_zh``, ``action``,
          ``action_zh``, ``lifecycle_rule`` (category), ``purchases_in_window``,
          ``purchases_before_window`` (int64): :func:`lifecycle_labels`.
        - ``churned`` (bool), ``median_gap_days``, ``silence_in_gaps``
          (float64): :func:`churn_table` (engine source: ``churned`` is
          ``recency_days > churn_days``, the two gap columns are NaN).
        - with a cost input: ``profit`` (float64), ``tier`` (ordered category).
        - with ``models=True``: ``p_alive``, ``expected_purchases``, ``clv``
          (float64).
        - ``revenue_rank`` (int64: 1 = the largest ``monetary_total``, ties
          in customer-id order), ``revenue_cumulative_share`` (float64: share
          of revenue of the customers ranked 1 to ``revenue_rank``); with a
          cost input ``profit_rank`` and ``profit_cumulative_share``, the same
          in the profit ranking (which also ranks returns-only customers).
        - with ``loyalty=True``: the columns of
          :data:`~rfm_loyalty.loyalty.LOYALTY_COLUMNS` the inputs allow.

        ``segments`` (index ``segment``) and ``lifecycle`` (index
        ``lifecycle``): :func:`segment_summary` columns (customers,
        customer_share, revenue, revenue_share, mean_recency_days,
        mean_frequency, mean_monetary), ``profit`` and ``profit_share`` with
        a cost input, then the label's description/names and action(s):
        ``segments`` starts with ``segment_zh`` and ends with
        ``description``, ``action``, ``action_zh``.

    Raises
    ------
    InvalidParameterError
        An invalid parameter or reading option, cost-to-serve without a cost
        input, a margin beside a cost column; reading options given with
        prepared Orders or an engine source; for an engine source also
        ``cost_per_order > 0`` (it needs every order).
    SchemaError, DataQualityError
        From reading and preparing the orders (or from the engine); a
        SchemaError also when no order is a purchase.

    Notes
    -----
    With an engine source, computed from the per-customer aggregates: the
    RFM columns, scores, segments, lifecycle, ``churned``, ``segments`` and
    ``lifecycle`` tables, ``pareto``, ``quality`` (counted in the engine),
    ``as_of``, ``params`` and, with ``models=True``, the models (fitted on
    :func:`~rfm_loyalty.summary.btyd_from_aggregates`). ``profitability``
    only with ``margin=``: ``margin * monetary_total - cost_per_customer``
    over the customers with a purchase (a pandas input also counts
    customers whose orders are all returns). Empty, because they need every
    order: ``churn`` and ``flow`` (their columns, no row), ``retention``
    (only ``cohort_size``, no cohort), ``median_gap_days`` and
    ``silence_in_gaps`` (NaN). ``input.sha256`` hashes the aggregates
    (``frame_sha256``, amounts rounded to 6 decimals): the lines never leave
    the engine.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.analysis import analyze
    >>> lines = pd.DataFrame({
    ...     "customer_id": ["a", "b", "b", "c"],
    ...     "order_date": pd.to_datetime(["2024-06-20", "2024-01-05", "2024-06-25",
    ...                                   "2024-03-01"]),
    ...     "amount": [10.0, 20.0, 15.0, 30.0]})
    >>> result = analyze(lines, as_of="2024-06-30", n_bins=2, margin=0.3)
    >>> result.customers[["recency_days", "frequency", "rfm_code", "lifecycle", "profit"]]
                 recency_days  frequency rfm_code      lifecycle  profit
    customer_id
    a                      10          1      211            new     3.0
    b                       5          2      222      returning    10.5
    c                     121          1      111  high_recovery     9.0
    >>> result.lifecycle.loc["new", "action"]
    'Campaign for the second purchase.'
    """
    settings = check_settings(
        n_bins=n_bins, segments=segments, lifecycle=lifecycle, margin=margin,
        cost_per_order=cost_per_order, cost_per_customer=cost_per_customer, models=models,
        churn_days=churn_days, period=period, horizon_months=horizon_months,
        discount_rate_monthly=discount_rate_monthly, loyalty=loyalty,
        loyalty_options=loyalty_options,
    )
    plan = plan_input(data, columns, as_of=as_of, returns=returns,
                      valid_statuses=valid_statuses, read_options=read_options)
    check_profit_inputs(plan.kind, _has_cost_column(plan), settings)

    # The one step that reads the orders: everything below reads the base.
    base, info = read_input(plan, window_days=settings.rules.window_days)
    rfm = rfm_from_aggregates(base.aggregates, as_of=base.as_of)
    if rfm.empty:
        raise SchemaError(_no_purchase_message(base))
    seen: list[tuple[str, str]] = []  # warnings that become caveats
    with _passed_on(seen):
        scorer = RFMScorer(n_bins=settings.n_bins).fit(rfm)
    scored = assign_segments(scorer.transform(rfm), settings.segment_rules)
    labels = lifecycle_from_base(base, rules=settings.rules)
    # Every per-customer table below is built from the base, row for row in
    # its order: the customer table is assembled by position, never by
    # hashing the customer ids again.
    scored["segment_zh"] = segment_names_zh(scored, settings.segment_rules)
    parts: list[tuple[pd.DataFrame, Sequence[str]]] = [
        (rfm, list(rfm.columns)),
        (scored, ["r_score", "f_score", "m_score", "rfm_code", "rfm_score", "segment",
                  "segment_zh"]),
        (labels.rename(columns={"rule": "lifecycle_rule"}), _LIFECYCLE_COLUMNS),
    ]
    churn_customers = None
    if base.has_orders:
        churn_customers = churn_from_rfm(base, rfm, churn_days=settings.churn_days)
        parts.append((churn_customers, ["churned", "median_gap_days", "silence_in_gaps"]))
    else:
        # the inequality of churn.churn_table; the gaps need every purchase day
        churned = (rfm["recency_days"] > settings.churn_days).astype(bool)
        gaps = pd.Series(np.nan, index=rfm.index)
        parts.append((pd.DataFrame({"churned": churned, "median_gap_days": gaps,
                                    "silence_in_gaps": gaps}), ["churned", "median_gap_days",
                                                                "silence_in_gaps"]))
    prof, note, profit = profit_and_note(base, settings)
    profit_rows = None
    if prof is not None and profit is not None:
        profit_rows = base_rows(base, profit)
        parts.append((pd.DataFrame({"profit": profit.array.take(profit_rows),
                                    "tier": prof.tiers.array.take(profit_rows)},
                                   index=rfm.index), ["profit", "tier"]))
    fitted_models = None
    if settings.models:
        with _passed_on(seen):
            fitted = fit_models(btyd_from_aggregates(base.aggregates, as_of=base.as_of),
                                settings)
        if fitted is not None:
            fitted_models, predictions = fitted
            parts.append((predictions, list(predictions.columns)))
    revenue = pareto(rfm["monetary_total"])
    ranks = customer_ranks(revenue, prof, profit_rows, index=rfm.index)
    parts.append((ranks, list(ranks.columns)))
    customers = _by_position(rfm.index, parts)
    loyalty_views = None
    if settings.loyalty:
        assert base.orders is not None  # refused for an engine source before reading
        loyalty_views = loyalty_tables(base.orders, customers, margin=settings.margin,
                                       **settings.loyalty_options)
        per_customer = loyalty_views.columns
        customers = _by_position(rfm.index, [(customers, list(customers.columns)),
                                             (per_customer, list(per_customer.columns))])
    customers.attrs = {"as_of": str(base.as_of.date())}

    has_profit = "profit" in customers.columns
    if churn_customers is not None:
        churn = churn_summary_from(
            base, churn_customers, labels["lifecycle"], by=customers["segment"]
        ).rename_axis("segment")
        retention = cohort_retention(base, period=settings.period,  # type: ignore[arg-type]
                                     metric="retention")
        flow = customer_flow(base, freq=settings.period,  # type: ignore[arg-type]
                             churn_days=settings.churn_days)
        order_level_note = ""
    else:
        churn, retention, flow = empty_churn(), empty_retention(), empty_flow()
        order_level_note = ENGINE_ORDER_LEVEL_NOTE.format(engine=base.engine)
    segment_table = summarise_segments(customers, settings.segment_rules, has_profit)
    lifecycle_table = summarise_lifecycle(customers, settings.rules, has_profit)
    population = population_of(base)
    caveats = analysis_caveats(
        base=base, settings=settings, population=population, segments=segment_table,
        lifecycle=lifecycle_table, n_negative_revenue=revenue.n_negative,
        has_cost_column=bool(_has_cost_column(plan)) or "cost" in _order_columns(base),
        profit_computed=prof is not None, warnings_seen=seen,
    )
    return Analysis(
        customers=customers,
        segments=segment_table,
        lifecycle=lifecycle_table,
        pareto=revenue,
        profitability=prof,
        profitability_note=note,
        churn=churn,
        retention=retention,
        flow=flow,
        models=fitted_models,
        quality=base.quality,
        as_of=base.as_of,
        params=MappingProxyType(call_params(base, settings, as_of_given=as_of is not None)),
        input=info,
        scorer=scorer,
        order_level_note=order_level_note,
        caveats=caveats,
        population=population,
        loyalty=loyalty_views,
    )


@contextmanager
def _passed_on(seen: list[tuple[str, str]]) -> Iterator[None]:
    """Record the warnings of a step (they become caveats) and pass them on to the user."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for item in caught:
        seen.append((item.category.__name__, str(item.message)))
    for item in caught:
        warn_user(str(item.message), item.category)


_LIFECYCLE_COLUMNS = ("lifecycle", "lifecycle_zh", "action", "action_zh", "lifecycle_rule",
                      "purchases_in_window", "purchases_before_window")


def _by_position(
    index: pd.Index, parts: Sequence[tuple[pd.DataFrame, Sequence[str]]]
) -> pd.DataFrame:
    """Put the columns of tables that share the base's row order side by side."""
    columns: dict[str, Any] = {}
    for table, names in parts:
        if not table.index.equals(index):  # the same object: no comparison of ids
            raise RuntimeError("A per-customer table is not in the customer base's order.")
        for name in names:
            column = table[name]
            # a Series on the one index keeps the column's dtype (object stays object)
            columns[name] = pd.Series(column.array, index=index, dtype=column.dtype,
                                      name=name, copy=False)
    return pd.DataFrame(columns, index=index, copy=False)


def _order_columns(base: CustomerBase) -> list[str]:
    return [] if base.orders is None else list(base.orders.frame.columns)


def _has_cost_column(plan: Any) -> bool | None:
    """Whether the input names a cost column; None when only the file's header will tell."""
    if plan.kind == "orders":
        return "cost" in plan.data.frame.columns
    if plan.kind == "engine":
        return plan.data.columns.cost is not None
    cols = plan.options.columns
    return cols.cost is not None if isinstance(cols, OrderColumns) else None


def _no_purchase_message(base: CustomerBase) -> str:
    q = base.quality
    return (
        f"No customer has a purchase: all {q.orders:,} orders net <= 0 on or before "
        f"as_of={base.as_of.date()} (returns={base.options.returns!r}). The input holds only "
        "returns or free orders; check the amount column and its sign, the returns= policy, "
        "zero_amount='purchase' for free orders, and the as_of date."
    )
