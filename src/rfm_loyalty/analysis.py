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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rfm_loyalty._analysis_input import (
    InputInfo,
    call_params,
    check_engine_arguments,
    engine_input_info,
    read_input,
)
from rfm_loyalty._analysis_input import file_sha256 as file_sha256  # re-exported
from rfm_loyalty._analysis_input import frame_sha256 as frame_sha256  # re-exported
from rfm_loyalty._analysis_parts import (
    ENGINE_ORDER_LEVEL_NOTE,
    ModelResults,
    check_engine_profit,
    empty_retention,
    empty_table,
    engine_profit_and_note,
    fit_models,
    profit_and_note,
    summarise_lifecycle,
    summarise_segments,
)
from rfm_loyalty.churn import (
    _check_days,
    churn_from_rfm,
    churn_summary_from,
    cohort_retention,
    customer_flow,
)
from rfm_loyalty.concentration import ParetoResult, pareto
from rfm_loyalty.engines import EngineSource, is_engine_source
from rfm_loyalty.lifecycle import LifecycleRules, lifecycle_from_aggregates
from rfm_loyalty.orders import OrderColumns, Orders, QualityReport
from rfm_loyalty.profitability import ProfitabilityResult
from rfm_loyalty.scoring import RFMScorer
from rfm_loyalty.segments import Segment, _check_preset_scores, assign_segments
from rfm_loyalty.summary import btyd_from_aggregates, customer_aggregates, rfm_from_aggregates

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["Analysis", "InputInfo", "ModelResults", "analyze"]

_PERIODS = ("D", "W", "M", "Q", "Y")


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

    # ------------------------------------------------------------ views
    def __str__(self) -> str:
        from rfm_loyalty.report import text_summary

        return text_summary(self)

    def __repr__(self) -> str:
        return (
            f"Analysis(as_of={self.as_of.date()}, customers={len(self.customers):,}, "
            f"segments={len(self.segments)}, profit={self.profitability is not None}, "
            f"models={self.models is not None})"
        )

    def _repr_html_(self) -> str:
        from rfm_loyalty.report import html_dashboard

        return html_dashboard(self)

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
        from rfm_loyalty.export import campaign_table

        table = campaign_table(self, by=by)
        return {
            str(label): group.reset_index(drop=True)
            for label, group in table.groupby("label", sort=False, observed=True)
        }

    def export(
        self, path: str | os.PathLike[str], format: str | Sequence[str] = "csv"
    ) -> list[Path]:
        """Write one file per table plus ``metadata.json`` into a folder.

        See :func:`rfm_loyalty.export.export_analysis`.

        Parameters
        ----------
        path : path-like
            Folder; created when missing.
        format : str or sequence of str, default "csv"
            ``"csv"``, ``"parquet"``, ``"json"``, ``"xlsx"``, or several.

        Returns
        -------
        list of pathlib.Path
            The files written, ``metadata.json`` last.
        """
        from rfm_loyalty.export import export_analysis

        return export_analysis(self, path, format=format)

    def to_sql(
        self, url_or_engine: str | Engine, *, prefix: str = "rfm_", if_exists: str = "fail"
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

        Returns
        -------
        list of str
            The table names written.
        """
        from rfm_loyalty.export import write_sql

        return write_sql(self, url_or_engine, prefix=prefix, if_exists=if_exists)

    def report(self, path: str | os.PathLike[str]) -> Path:
        """Write the self-contained HTML report.

        See :func:`rfm_loyalty.report.write_report`.

        Parameters
        ----------
        path : path-like
            The ``.html`` file to write.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        from rfm_loyalty.report import write_report

        return write_report(self, path)


# --------------------------------------------------------------------------- #
# analyze
# --------------------------------------------------------------------------- #
def analyze(
    data: pd.DataFrame | Orders | EngineSource | str | os.PathLike[str],
    columns: OrderColumns | None = None,
    *,
    as_of: Any = None,
    n_bins: int = 5,
    segments: str | Sequence[Segment] = "default",
    lifecycle: LifecycleRules | None = None,
    margin: float | None = None,
    cost_per_order: float = 0.0,
    cost_per_customer: float = 0.0,
    models: bool = False,
    churn_days: int = 360,
    period: str = "M",
    horizon_months: int = 12,
    discount_rate_monthly: float = 0.01,
    returns: str = "net",
    valid_statuses: Iterable[Any] | None = None,
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
    columns : OrderColumns, optional
        Column names of ``data``. Default for a DataFrame: the canonical names
        (``customer_id``, ``order_date``, ``amount``) plus ``order_id``,
        ``cost`` and ``status`` when such columns exist; for a file:
        ``OrderColumns()``. Ignored for ``Orders``; must stay None for an
        engine source (its columns are given to ``from_duckdb``/``from_spark``).
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
    models : bool, default False
        Fit BG/NBD and Gamma-Gamma and add ``p_alive``,
        ``expected_purchases`` and ``clv``.
    churn_days : int, default 360
        Days of silence after which a customer is churned.
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Period of the retention matrix and the customer flow.
    horizon_months : int, default 12
        Horizon of ``expected_purchases`` and ``clv`` (months of 30.4375 days).
    discount_rate_monthly : float, default 0.01
        Monthly discount rate of the CLV.
    returns : {"net", "drop", "error"}, default "net"
        Returns policy of :func:`~rfm_loyalty.orders.prepare_orders`. For an
        engine source leave the default: the source carries its own.
    valid_statuses : iterable, optional
        Only these order statuses count (needs a status column). For an
        engine source leave None: the source carries its own.

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
        - ``segment`` (ordered category): :func:`assign_segments`.
        - ``lifecycle`` (ordered category), ``lifecycle_zh``, ``action``,
          ``action_zh``, ``lifecycle_rule`` (category), ``purchases_in_window``,
          ``purchases_before_window`` (int64): :func:`lifecycle_labels`.
        - ``churned`` (bool), ``median_gap_days``, ``silence_in_gaps``
          (float64): :func:`churn_table` (engine source: ``churned`` is
          ``recency_days > churn_days``, the two gap columns are NaN).
        - with a cost input: ``profit`` (float64), ``tier`` (ordered category).
        - with ``models=True``: ``p_alive``, ``expected_purchases``, ``clv``
          (float64).

        ``segments`` (index ``segment``) and ``lifecycle`` (index
        ``lifecycle``): :func:`segment_summary` columns (customers,
        customer_share, revenue, revenue_share, mean_recency_days,
        mean_frequency, mean_monetary), ``profit`` and ``profit_share`` with
        a cost input, then the label's description/names and action(s).

    Raises
    ------
    SchemaError, DataQualityError
        From reading and preparing the orders (or from the engine).
    ValueError
        An invalid parameter, or cost-to-serve without a cost input; for an
        engine source also ``columns``, ``returns`` or ``valid_statuses``
        given to ``analyze``, ``cost_per_order > 0`` (it needs every order),
        or ``margin`` with a source that names a cost column.

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
    _check_params(n_bins, period, horizon_months, models)
    _check_preset_scores(segments, n_bins)  # before any work, not after scoring
    statuses = None if valid_statuses is None else list(valid_statuses)
    rules = lifecycle if lifecycle is not None else LifecycleRules()
    if not isinstance(rules, LifecycleRules):
        raise ValueError(
            "The 'lifecycle' parameter of analyze must be a LifecycleRules instance or None, "
            f"e.g. LifecycleRules(window_days=30). Got {lifecycle!r} instead."
        )
    orders: Orders | None = None
    if is_engine_source(data):
        # The engine reads every line once and returns one row per customer;
        # everything below that needs only those rows is computed from them.
        check_engine_arguments(columns, returns, statuses)
        churn_days = _check_days(churn_days, "churn_days", "analyze")
        check_engine_profit(  # before the engine's long scan
            has_cost_column=data.columns.cost is not None, margin=margin,
            cost_per_order=cost_per_order, cost_per_customer=cost_per_customer,
        )
        aggregated = data.aggregate(as_of=as_of, window_days=rules.window_days)
        aggregates, quality = aggregated.aggregates, aggregated.quality
        as_of_ts = pd.Timestamp(aggregates.attrs["as_of"])
        info = engine_input_info(data, aggregates, quality.rows_in)
        cols: OrderColumns | None = data.columns
        returns, statuses = data.returns, (
            None if data.valid_statuses is None else list(data.valid_statuses)
        )
        order_level_note = ENGINE_ORDER_LEVEL_NOTE.format(engine=data.engine)
    else:
        orders, info, cols = read_input(data, columns, as_of=as_of, returns=returns,
                                        valid_statuses=statuses)
        aggregates = customer_aggregates(orders, window_days=rules.window_days)
        quality, as_of_ts, order_level_note = orders.quality, orders.as_of, ""

    rfm = rfm_from_aggregates(aggregates)
    scorer = RFMScorer(n_bins=n_bins).fit(rfm)
    scored = assign_segments(scorer.transform(rfm), segments)
    labels = lifecycle_from_aggregates(aggregates, rules=rules)
    lifecycle_columns = ["lifecycle", "lifecycle_zh", "action", "action_zh", "lifecycle_rule",
                         "purchases_in_window", "purchases_before_window"]
    customers = rfm.join(scored).join(
        labels.rename(columns={"rule": "lifecycle_rule"})[lifecycle_columns]
    )
    churn_columns = ["churned", "median_gap_days", "silence_in_gaps"]
    if orders is not None:
        # built from the tables in hand: the orders are not aggregated again
        churn_customers = churn_from_rfm(orders, rfm, churn_days=churn_days)
        customers = customers.join(churn_customers[churn_columns])
        prof, note, profit = profit_and_note(orders, margin, cost_per_order, cost_per_customer)
    else:
        # the inequality of churn.churn_table; the gaps need every purchase day
        customers["churned"] = (customers["recency_days"] > churn_days).astype(bool)
        customers["median_gap_days"] = np.nan
        customers["silence_in_gaps"] = np.nan
        prof, note, profit = engine_profit_and_note(
            aggregates, has_cost_column=cols is not None and cols.cost is not None,
            margin=margin, cost_per_order=cost_per_order, cost_per_customer=cost_per_customer,
        )
    if prof is not None and profit is not None:
        customers["profit"] = profit.reindex(customers.index)
        customers["tier"] = prof.tiers.reindex(customers.index)

    fitted = (
        fit_models(btyd_from_aggregates(aggregates), horizon_months, discount_rate_monthly)
        if models else None
    )
    if fitted is not None:
        fitted_models, predictions = fitted
        customers = customers.join(predictions)
    else:
        fitted_models = None
    customers = customers.join(pareto(customers["monetary_total"]).customer_ranks(prof))
    customers.attrs = {"as_of": str(as_of_ts.date())}

    has_profit = "profit" in customers.columns
    segment_table = summarise_segments(customers, segments, has_profit)
    lifecycle_table = summarise_lifecycle(customers, rules, has_profit)
    params = call_params(
        cols, as_of_ts, n_bins=n_bins, segments=segments, rules=rules, margin=margin,
        cost_per_order=cost_per_order, cost_per_customer=cost_per_customer, models=models,
        churn_days=churn_days, period=period, horizon_months=horizon_months,
        discount_rate_monthly=discount_rate_monthly, returns=returns,
        valid_statuses=statuses, as_of_given=as_of is not None,
    )
    if orders is not None:
        churn = churn_summary_from(
            orders, churn_customers, labels["lifecycle"], by=customers["segment"]
        ).rename_axis("segment")
        retention = cohort_retention(orders, period=period, metric="retention")  # type: ignore[arg-type]
        flow = customer_flow(orders, freq=period, churn_days=churn_days)  # type: ignore[arg-type]
    else:
        churn = empty_table("churn", "segment")
        retention, flow = empty_retention(), empty_table("flow", "period")
    return Analysis(
        customers=customers,
        segments=segment_table,
        lifecycle=lifecycle_table,
        pareto=pareto(customers["monetary_total"]),
        profitability=prof,
        profitability_note=note,
        churn=churn,
        retention=retention,
        flow=flow,
        models=fitted_models,
        quality=quality,
        as_of=as_of_ts,
        params=MappingProxyType(params),
        input=info,
        scorer=scorer,
        order_level_note=order_level_note,
    )


def _check_params(n_bins: Any, period: Any, horizon_months: Any, models: Any) -> None:
    if period not in _PERIODS:
        raise ValueError(
            f"The 'period' parameter of analyze must be one of {list(_PERIODS)!r} (day, week, "
            f"month, quarter, year). Got {period!r} instead."
        )
    if not isinstance(models, bool):
        raise ValueError(
            f"The 'models' parameter of analyze must be True or False. Got {models!r}."
        )
    if isinstance(horizon_months, bool) or not isinstance(horizon_months, (int, np.integer)) or (
        horizon_months < 1
    ):
        raise ValueError(
            "The 'horizon_months' parameter of analyze must be a whole number of months >= 1. "
            f"Got {horizon_months!r} instead."
        )
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)):
        raise ValueError(
            f"The 'n_bins' parameter of analyze must be a whole number (2 to 10). Got {n_bins!r}."
        )

