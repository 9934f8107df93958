"""The ``rfm-loyalty`` command: analyse an order file, export the tables, write the report."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

__all__ = ["main"]

PROG = "rfm-loyalty"
#: Cost to serve one order in the demo (packing, payment, delivery), in the
#: sample's currency: without it no sample customer would be unprofitable.
DEMO_COST_PER_ORDER = 5.0

_EPILOG_ANALYZE = """\
examples:
  # order lines with an amount column
  rfm-loyalty analyze orders.csv --customer-col customer --date-col ts --amount-col total

  # the UCI Online Retail file: amount = Quantity x UnitPrice, invoices as orders
  rfm-loyalty analyze online_retail.csv.gz --customer-col CustomerID \\
      --date-col InvoiceDate --quantity-col Quantity --unit-price-col UnitPrice \\
      --order-id-col InvoiceNo --as-of 2011-12-09 --margin 0.3 --report --out out

  # Parquet and CSV tables plus a PostgreSQL copy, models fitted
  rfm-loyalty analyze orders.parquet --customer-col c --date-col d --amount-col a \\
      --format csv,parquet --sql postgresql+psycopg://user@localhost/crm --models

Writes one file per table and metadata.json into --out (default ./out), the
HTML report with --report, and prints a summary. Errors are one line on stderr
with exit code 2.
"""

_EPILOG_DEMO = """\
example:
  rfm-loyalty demo --out out      # tables (CSV) and out/report.html
"""


class _Fail(Exception):
    """A user error: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line + usage hint, exit 2 (argparse's code)
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Order histories to customer intelligence: RFM scores and segments, "
        "lifecycle cohorts with actions, 80/20/30 profitability, churn and lifetime value.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="run 'rfm-loyalty analyze --help' or 'rfm-loyalty demo --help' for examples",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    an = sub.add_parser(
        "analyze", help="analyse an order file (.csv, .csv.gz, .parquet)",
        description="Analyse an order file and write the tables, metadata and report.",
        epilog=_EPILOG_ANALYZE, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    an.add_argument("input", metavar="INPUT", help="order lines: .csv, .csv.gz, .tsv or .parquet")
    cols = an.add_argument_group("columns of INPUT")
    cols.add_argument("--customer-col", required=True, metavar="C", help="customer id column")
    cols.add_argument("--date-col", required=True, metavar="D", help="order date/time column")
    cols.add_argument("--amount-col", metavar="A", help="line amount (or give quantity and price)")
    cols.add_argument("--quantity-col", metavar="Q", help="quantity column (amount = Q x P)")
    cols.add_argument("--unit-price-col", metavar="P", help="unit price column")
    cols.add_argument("--order-id-col", metavar="O", help="order/invoice id column")
    cols.add_argument("--cost-col", metavar="K", help="line cost column (for profit)")
    cols.add_argument("--status-col", metavar="S", help="order status column")
    opts = an.add_argument_group("analysis")
    opts.add_argument("--valid-status", action="append", metavar="V",
                      help="count only orders with this status (repeatable; needs --status-col)")
    opts.add_argument("--as-of", metavar="DATE", help="analysis date, e.g. 2011-12-09 "
                      "(default: the last order date)")
    opts.add_argument("--margin", type=float, metavar="M",
                      help="gross margin as a fraction of revenue, e.g. 0.3 (profit without "
                      "a cost column)")
    opts.add_argument("--cost-per-order", type=float, default=0.0, metavar="X",
                      help="cost to serve one order (default 0)")
    opts.add_argument("--cost-per-customer", type=float, default=0.0, metavar="Y",
                      help="cost to keep one customer (default 0)")
    opts.add_argument("--n-bins", type=int, default=5, metavar="N", help="score bands (default 5)")
    opts.add_argument("--churn-days", type=int, default=360, metavar="DAYS",
                      help="days of silence that make a customer churned (default 360)")
    opts.add_argument("--models", action="store_true",
                      help="fit BG/NBD and Gamma-Gamma: p_alive, expected purchases, CLV")
    _analysis_flags(an)
    _output_options(an)

    demo = sub.add_parser(
        "demo", help="analyse the bundled sample orders (what 'make demo' runs)",
        description="Analyse the bundled sample (1,000 synthetic customers, 2023-2024, with "
        f"costs and a cost to serve of {DEMO_COST_PER_ORDER} per order), fit the models, write "
        "the tables and the HTML report.",
        epilog=_EPILOG_DEMO, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _output_options(demo, report_default=True)
    _add_diff_parser(sub)
    return parser


def _output_options(parser: argparse.ArgumentParser, *, report_default: bool = False) -> None:
    out = parser.add_argument_group("output")
    out.add_argument("--out", default="out", metavar="DIR", help="output folder (default: out)")
    out.add_argument("--format", default="csv", metavar="F[,F]",
                     help="table formats: csv, parquet, json, xlsx, comma-separated "
                     "(default csv)")
    out.add_argument("--sql", metavar="URL",
                     help="also write the tables to this SQLAlchemy database URL")
    out.add_argument("--sql-prefix", default="rfm_", metavar="PREFIX",
                     help="table name prefix in the database (default rfm_)")
    out.add_argument("--if-exists", default="fail", choices=("fail", "replace", "append"),
                     help="when the database tables exist (default fail)")
    if not report_default:
        out.add_argument("--report", action="store_true", help="write DIR/report.html")
    out.add_argument("--quiet", action="store_true",
                     help="no progress and no summary (warnings and errors still print)")
    out.add_argument("--no-timestamp", action="store_true",
                     help="leave the time out of metadata.json and the report, so that the "
                     "same input gives byte-identical files (SOURCE_DATE_EPOCH fixes it "
                     "instead)")


def _analysis_flags(parser: argparse.ArgumentParser) -> None:
    """Add the analyze options beyond the basics: segment preset, windows, periods, CLV."""
    from rfm_loyalty.lifecycle import LifecycleRules
    from rfm_loyalty.segments import SEGMENT_PRESETS

    defaults = LifecycleRules()
    rules = parser.add_argument_group("segments and lifecycle")
    rules.add_argument("--segments", default="default", choices=list(SEGMENT_PRESETS),
                       metavar="PRESET", help="segment rule preset: "
                       f"{', '.join(SEGMENT_PRESETS)} (default: default)")
    for flag, name, meaning in (
        ("--window-days", "window_days", "recent window: new, active or returning"),
        ("--cooling-end-days", "cooling_end_days", "end of cooling"),
        ("--high-recovery-end-days", "high_recovery_end_days", "end of high recovery"),
        ("--low-recovery-end-days", "low_recovery_end_days", "end of low recovery, then lost"),
        ("--active-min-prior-purchases", "active_min_prior_purchases",
         "purchases before the window that make a recent customer active"),
    ):
        unit = "" if name.endswith("purchases") else " days"
        rules.add_argument(flag, type=int, metavar="N", dest=f"lifecycle_{name}",
                           help=f"{meaning} (default {getattr(defaults, name)}{unit})")
    more = parser.add_argument_group("retention and lifetime value")
    more.add_argument("--period", default="M", choices=("D", "W", "M", "Q", "Y"),
                      help="period of the retention matrix and the customer flow (default M)")
    more.add_argument("--horizon-months", type=int, default=12, metavar="N",
                      help="horizon of expected purchases and CLV with --models (default 12)")
    more.add_argument("--discount-rate", type=float, default=0.01, metavar="R",
                      help="monthly discount rate of the CLV with --models (default 0.01)")


def _analysis_options(args: argparse.Namespace) -> dict[str, Any]:
    """Return the keyword arguments of analyze given by :func:`_analysis_flags`."""
    from rfm_loyalty.lifecycle import LifecycleRules

    windows = {name.removeprefix("lifecycle_"): value for name, value in vars(args).items()
               if name.startswith("lifecycle_") and value is not None}
    try:
        rules = LifecycleRules(**windows) if windows else None
    except (TypeError, ValueError) as exc:
        raise _Fail(str(exc)) from exc
    return {"segments": args.segments, "lifecycle": rules, "period": args.period,
            "horizon_months": args.horizon_months, "discount_rate_monthly": args.discount_rate}


_EPILOG_DIFF = """\
examples:
  # two export folders (e.g. the committed baseline and this run)
  rfm-loyalty diff baseline/ out/

  # the baseline against an order file, analysed with the options that follow
  rfm-loyalty diff baseline/ orders.csv --customer-col c --date-col d --amount-col a \\
      --window-days 30

  # for a pull-request comment, or a machine
  rfm-loyalty diff baseline/ out/ --markdown > diff.md
  rfm-loyalty diff baseline/ out/ --json > diff.json

Exit code 0 when the runs agree within the tolerances, 1 when more than
--max-moved-share of the customers changed segment, lifecycle cohort or tier
(or appeared / disappeared) or a headline figure moved beyond --rtol /
--atol-money, 2 on a usage error. Analysis options go after OLD and NEW.
"""


def _add_diff_parser(sub: Any) -> None:
    diff = sub.add_parser(
        "diff", help="compare two runs: label moves, headline figures, schema, parameters",
        description="Compare two runs of the analysis (export folders, or a folder and an "
        "order file) and say what moved.",
        epilog=_EPILOG_DIFF, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    diff.add_argument("old", metavar="OLD", help="export folder (the baseline)")
    diff.add_argument("new", metavar="NEW", help="export folder, or an order file to analyse "
                      "with the analyze options given after it")
    view = diff.add_mutually_exclusive_group()
    view.add_argument("--json", action="store_true",
                      help="JSON (schema: rfm_loyalty/diff.schema.json, see docs/ci.md)")
    view.add_argument("--markdown", action="store_true", help="Markdown, for a PR comment")
    tol = diff.add_argument_group("tolerances")
    tol.add_argument("--max-moved-share", type=float, default=0.01, metavar="S",
                     help="largest share of customers that may change a label (default 0.01)")
    tol.add_argument("--rtol", type=float, default=1e-5, metavar="R",
                     help="relative tolerance of headline figures (default 1e-5)")
    tol.add_argument("--atol-money", type=float, default=0.005, metavar="A",
                     help="amounts agree within 2 x A (default 0.005: one cent)")
    diff.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _diff_run(path_text: str, name: str, analyse: Any) -> Any:
    path = Path(path_text)
    if path.is_dir():
        if not (path / "metadata.json").is_file():
            raise _Fail(f"{name} {path_text!r} is a folder without metadata.json: not an export "
                        "(write one with rfm-loyalty analyze --out).")
        return path
    if path.is_file():
        return analyse(path_text)
    raise _Fail(f"{name} {path_text!r} does not exist: give an export folder or an order file.")


def _main_diff(parser: argparse.ArgumentParser, args: argparse.Namespace, extra: list[str],
               out: TextIO, err: TextIO) -> int:
    from rfm_loyalty.diff import compare_runs

    progress = _Progress(args.quiet, err)

    def analyse(path: str) -> Any:
        analyze_args = parser.parse_args(["analyze", path, *extra, "--quiet"])
        return _run_analyze(analyze_args, progress)

    def show(message: Any, category: Any, *_: Any, **__: Any) -> None:
        print(f"{PROG}: warning: {_one_line(message)}", file=err, flush=True)

    try:
        files = [p for p in (args.old, args.new) if Path(p).is_file()]
        if len(files) > 1:
            raise _Fail("give at most one order file: OLD and NEW are both files; export one "
                        "of them first (rfm-loyalty analyze ... --out DIR).")
        if extra and not files:
            raise _Fail(f"unrecognized arguments: {' '.join(extra)} (analysis options only "
                        "apply when OLD or NEW is an order file)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("always", UserWarning)
            warnings.showwarning = show
            old = _diff_run(args.old, "OLD", analyse)
            new = _diff_run(args.new, "NEW", analyse)
            report = compare_runs(old, new, max_moved_share=args.max_moved_share,
                                  rtol=args.rtol, atol_money=args.atol_money)
    except _user_errors() as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=err)
        return 2
    text = report.to_json() if args.json else (
        report.to_markdown() if args.markdown else report.to_text())
    out.write(text)
    return report.exit_code


def _version() -> str:
    from rfm_loyalty import __version__

    return f"{PROG} {__version__}"


class _Progress:
    def __init__(self, quiet: bool, stream: TextIO) -> None:
        self.quiet = quiet
        self.stream = stream
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            elapsed = time.perf_counter() - self.start
            print(f"{PROG}: [{elapsed:6.1f}s] {message}", file=self.stream, flush=True)


def _formats(text: str) -> list[str]:
    from rfm_loyalty.export import FORMATS

    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise _Fail(f"--format must be one or more of {', '.join(FORMATS)} separated by "
                    f"commas; got {text!r}.")
    return formats


def _as_of(text: str | None) -> Any:
    if text is None:
        return None
    import pandas as pd

    value: Any
    try:
        value = pd.Timestamp(text)
    except (ValueError, TypeError):
        value = None
    if value is None or pd.isna(value):
        raise _Fail(f"--as-of must be a date such as 2011-12-09; got {text!r}.")
    return value


def _columns(args: argparse.Namespace) -> Any:
    from rfm_loyalty.orders import OrderColumns

    if args.amount_col and (args.quantity_col or args.unit_price_col):
        raise _Fail("give either --amount-col or --quantity-col with --unit-price-col, not both.")
    if not args.amount_col and not (args.quantity_col and args.unit_price_col):
        raise _Fail("the amount is missing: give --amount-col, or both --quantity-col and "
                    "--unit-price-col (amount = quantity x unit price).")
    try:
        return OrderColumns(
            customer=args.customer_col, date=args.date_col, amount=args.amount_col,
            order_id=args.order_id_col, cost=args.cost_col, status=args.status_col,
            quantity=args.quantity_col, unit_price=args.unit_price_col,
        )
    except (TypeError, ValueError) as exc:
        raise _Fail(str(exc)) from exc


def _run_analyze(args: argparse.Namespace, progress: _Progress) -> Any:
    from rfm_loyalty.analysis import analyze

    path = Path(args.input)
    if not path.is_file():
        raise _Fail(f"no input file at {str(path)!r}.")
    columns = _columns(args)
    as_of = _as_of(args.as_of)
    if args.valid_status and not args.status_col:
        raise _Fail("--valid-status needs --status-col naming the status column.")
    size_mb = path.stat().st_size / 1e6
    progress(f"reading and analysing {path} ({size_mb:,.1f} MB)")
    return analyze(
        path, columns, as_of=as_of, n_bins=args.n_bins, margin=args.margin,
        cost_per_order=args.cost_per_order, cost_per_customer=args.cost_per_customer,
        models=args.models, churn_days=args.churn_days, valid_statuses=args.valid_status,
        **_analysis_options(args),
    )


def _run_demo(args: argparse.Namespace, progress: _Progress) -> Any:
    from rfm_loyalty.analysis import analyze
    from rfm_loyalty.datasets import load_sample_orders
    from rfm_loyalty.orders import OrderColumns

    progress("analysing the bundled sample orders")
    return analyze(load_sample_orders(), OrderColumns(order_id="order_id", cost="cost"),
                   cost_per_order=DEMO_COST_PER_ORDER, models=True)


def _write_outputs(result: Any, args: argparse.Namespace, formats: list[str],
                   progress: _Progress) -> None:
    from rfm_loyalty.export import export_analysis, write_sql

    out = Path(args.out)
    timestamp = not args.no_timestamp
    report = getattr(args, "report", True)
    progress(f"analysed {len(result.customers):,} customers as of {result.as_of.date()}; "
             f"writing {', '.join(formats)} tables{' and the report' if report else ''} "
             f"to {out}/")
    files = export_analysis(result, out, format=formats, timestamp=timestamp, report=report)
    progress(f"wrote {len(files)} files ({len(files) - 1 - report} tables"
             f"{', report.html' if report else ''} + metadata.json)")
    if args.sql:
        tables = write_sql(result, args.sql, prefix=args.sql_prefix, if_exists=args.if_exists,
                           timestamp=timestamp)
        progress(f"wrote {len(tables)} tables to the database ({tables[0]}, ...)")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _user_errors() -> tuple[type[BaseException], ...]:
    from rfm_loyalty.exceptions import RFMError

    errors: list[type[BaseException]] = [_Fail, RFMError, ValueError, OSError, ImportError]
    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:  # pragma: no cover - sqlalchemy is optional
        pass
    else:
        errors.append(SQLAlchemyError)
    return tuple(errors)


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    """Run the command line; return the exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.
    stdout, stderr : text streams, optional
        Where the summary and the progress/errors go; default the process's.

    Returns
    -------
    int
        0 on success, 2 on a user error (missing file, bad column, bad date,
        bad option), with one line on stderr saying what was wrong. ``diff``:
        0 when the runs agree within the tolerances, 1 when something moved
        beyond them, 2 on a usage error.

    Examples
    --------
    >>> import io
    >>> err = io.StringIO()
    >>> main(["analyze", "missing.csv", "--customer-col", "c", "--date-col", "d",
    ...       "--amount-col", "a"], stderr=err)
    2
    >>> print(err.getvalue().strip())
    rfm-loyalty: error: no input file at 'missing.csv'.
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    parser = _build_parser()
    arguments = sys.argv[1:] if argv is None else list(argv)
    args, extra = parser.parse_known_args(arguments)
    if args.command == "diff":
        return _main_diff(parser, args, extra, out, err)
    if extra:
        parser.parse_args(arguments)  # argparse's own message for the unknown ones (exit 2)
    progress = _Progress(args.quiet, err)
    def show(message: Any, category: Any, *_: Any, **__: Any) -> None:
        print(f"{PROG}: warning: {_one_line(message)}", file=err, flush=True)

    try:
        formats = _formats(args.format)
        with warnings.catch_warnings():
            # The library's notes (data quality, binning, models) are UserWarnings:
            # one line each, as they happen; other packages' deprecation chatter is
            # not the user's business.
            warnings.simplefilter("ignore")
            warnings.simplefilter("always", UserWarning)
            warnings.showwarning = show
            result = _run_demo(args, progress) if args.command == "demo" else (
                _run_analyze(args, progress))
            _write_outputs(result, args, formats, progress)
    except _user_errors() as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=err)
        return 2
    if not args.quiet:
        print(result, file=out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
