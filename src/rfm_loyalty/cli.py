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
    an.add_argument("input", metavar="INPUT",
                    help="order lines: .csv, .csv.gz, .tsv, .xlsx or .parquet")
    _column_flags(an)
    _reading_flags(an)
    opts = an.add_argument_group("analysis")
    opts.add_argument("--as-of", metavar="DATE", help="analysis date as ISO text, e.g. "
                      "2011-12-09 (default: the last order date)")
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
    opts.add_argument("--models", nargs="?", const="bgnbd", default=None, metavar="NAMES",
                      help="fit customer-base models: p_alive, expected purchases, CLV. Alone: "
                      "BG/NBD; or names among bgnbd, mbgnbd, paretonbd, comma-separated "
                      "(each is fitted, the lowest BIC fills the table)")
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
    _add_audience_parser(sub)
    _add_lift_parser(sub)
    _add_diff_parser(sub)
    return parser


#: The column flags of ``analyze``: flag -> role of OrderColumns.
COLUMN_FLAGS: dict[str, str] = {
    "--customer-col": "customer", "--date-col": "date", "--amount-col": "amount",
    "--quantity-col": "quantity", "--unit-price-col": "unit_price",
    "--order-id-col": "order_id", "--cost-col": "cost", "--status-col": "status",
    "--product-col": "product", "--category-col": "category", "--channel-col": "channel",
    "--list-price-col": "list_price", "--discount-col": "discount",
}
_COLUMN_HELP = {
    "customer": ("C", "customer id column"),
    "date": ("D", "order date/time column"),
    "amount": ("A", "line amount (or give quantity and price)"),
    "quantity": ("Q", "quantity column (amount = Q x P)"),
    "unit_price": ("P", "unit price column"),
    "order_id": ("O", "order/invoice id column"),
    "cost": ("K", "line cost column (for profit)"),
    "status": ("S", "order status column"),
    "product": ("COL", "product/SKU column (loyalty breadth)"),
    "category": ("COL", "product category column (loyalty breadth)"),
    "channel": ("COL", "sales channel column"),
    "list_price": ("COL", "line amount at list price (price sensitivity)"),
    "discount": ("COL", "line discount in currency (price sensitivity)"),
}


def _column_flags(parser: argparse.ArgumentParser) -> None:
    cols = parser.add_argument_group(
        "columns of INPUT", "name the columns with the flags, or let --columns auto find "
        "them all from the header (English and Chinese names: docs/columns.md)")
    cols.add_argument("--columns", choices=("auto",), default=None,
                      help="auto: match the header names (customer, date and amount needed)")
    for flag, role in COLUMN_FLAGS.items():
        metavar, text = _COLUMN_HELP[role]
        cols.add_argument(flag, metavar=metavar, dest=f"col_{role}", help=text)


def _reading_flags(parser: argparse.ArgumentParser) -> None:
    """Add a flag for every reading option of :class:`~rfm_loyalty.orders.ReadOptions`."""
    read = parser.add_argument_group("reading INPUT (default: detected or the library's)")
    days = read.add_mutually_exclusive_group()
    days.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True,
                      help="01/02/2024 is 1 February (default: settled by the data, else an "
                      "error naming both readings)")
    days.add_argument("--monthfirst", dest="dayfirst", action="store_const", const=False,
                      help="01/02/2024 is 2 January")
    days.add_argument("--date-format", metavar="FMT",
                      help="strftime pattern of the dates, e.g. '%%d/%%m/%%Y %%H:%%M', or "
                      "excel, epoch_s, epoch_ms")
    read.add_argument("--tz", metavar="ZONE",
                      help="time zone of the calendar days, e.g. Asia/Shanghai")
    read.add_argument("--encoding", metavar="ENC",
                      help="text encoding of a CSV (default detected: UTF-8, UTF-16 with BOM, "
                      "GB18030)")
    read.add_argument("--sep", metavar="CHAR",
                      help="field separator of a CSV (default detected among , ; tab |; "
                      "a tab as tab or '\\t')")
    read.add_argument("--decimal", default=".", choices=(".", ","),
                      help="decimal mark of amounts written as text (default .)")
    read.add_argument("--thousands", metavar="CHAR",
                      help="thousands separator of amounts written as text, e.g. , or .")
    read.add_argument("--amount-decimals", type=int, metavar="K",
                      help="decimals of the amounts, 0 to 6 (default found from the data)")
    read.add_argument("--sheet", metavar="NAME|N",
                      help="sheet of an .xlsx file: name or 0-based position (default first)")
    read.add_argument("--returns", default="net", choices=("net", "drop", "error"),
                      help="negative lines: net them (default), drop them, or stop")
    read.add_argument("--zero-amount", default="not_purchase",
                      choices=("not_purchase", "purchase"),
                      help="whether an order of exactly 0 is a purchase (default not_purchase)")
    read.add_argument("--valid-status", action="append", metavar="V",
                      help="count only orders with this status (repeatable; needs a status "
                      "column)")
    read.add_argument("--on-bad-rows", default="warn", choices=("warn", "raise"),
                      help="unusable rows: drop and warn (default) or stop")


def _reading_options(args: argparse.Namespace) -> dict[str, Any]:
    """Return the reading options given by :func:`_reading_flags` (only those set)."""
    sep = args.sep
    if sep is not None and sep in ("\\t", "tab", "TAB"):
        sep = "\t"
    sheet: Any = args.sheet
    if sheet is not None and sheet.strip().isdigit():
        sheet = int(sheet)
    given = {
        "dayfirst": args.dayfirst, "date_format": args.date_format, "tz": args.tz,
        "encoding": args.encoding, "sep": sep, "thousands": args.thousands,
        "amount_decimals": args.amount_decimals, "sheet_name": sheet,
        "valid_statuses": args.valid_status,
    }
    options = {name: value for name, value in given.items() if value is not None}
    for name, default in (("decimal", "."), ("returns", "net"),
                          ("zero_amount", "not_purchase"), ("on_bad_rows", "warn")):
        if getattr(args, name) != default:
            options[name] = getattr(args, name)
    return options


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
    loyal = parser.add_argument_group("loyalty")
    loyal.add_argument("--loyalty", action="store_true",
                       help="add the loyalty views: indicators, stages, loyalty x value, "
                       "onboarding, health (docs/loyalty.md)")
    loyal.add_argument("--member-tiers", metavar="TIER=SPEND[,...]",
                       help="member tier thresholds of the rolling 365-day spend, e.g. "
                       "silver=500,gold=2000 (with --loyalty)")


def _analysis_options(args: argparse.Namespace) -> dict[str, Any]:
    """Return the keyword arguments of analyze given by :func:`_analysis_flags`."""
    from rfm_loyalty.lifecycle import LifecycleRules

    windows = {name.removeprefix("lifecycle_"): value for name, value in vars(args).items()
               if name.startswith("lifecycle_") and value is not None}
    try:
        rules = LifecycleRules(**windows) if windows else None
    except (TypeError, ValueError) as exc:
        raise _Fail(str(exc)) from exc
    options: dict[str, Any] = {
        "segments": args.segments, "lifecycle": rules, "period": args.period,
        "horizon_months": args.horizon_months, "discount_rate_monthly": args.discount_rate,
        "models": False if args.models is None else tuple(
            name.strip() for name in args.models.split(",") if name.strip()),
        "loyalty": args.loyalty,
    }
    if args.member_tiers:
        if not args.loyalty:
            raise _Fail("--member-tiers needs --loyalty.")
        options["loyalty_options"] = {"thresholds": _tiers(args.member_tiers)}
    return options


def _tiers(text: str) -> dict[str, float]:
    """``silver=500,gold=2000`` as {"silver": 500.0, "gold": 2000.0}."""
    tiers: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            tiers[name.strip()] = float(value)
        except ValueError:
            raise _Fail(f"--member-tiers takes TIER=SPEND pairs such as silver=500,gold=2000; "
                        f"got {text!r}.") from None
        if not name.strip():
            raise _Fail(f"--member-tiers takes TIER=SPEND pairs such as silver=500,gold=2000; "
                        f"got {text!r}.")
    return tiers


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
    from rfm_loyalty._version import __version__

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


def _check_as_of(text: str | None) -> None:
    """Refuse an ``--as-of`` the library would refuse, naming the flag (and both readings)."""
    from rfm_loyalty.exceptions import InvalidParameterError
    from rfm_loyalty.orders import ReadOptions

    try:
        ReadOptions(as_of=text)
    except InvalidParameterError as exc:
        raise _Fail(f"--as-of: {exc}") from None


def _columns(args: argparse.Namespace) -> Any:
    """Return the ``columns`` of the flags: ``"auto"``, or a dict of role -> column name."""
    named = {role: getattr(args, f"col_{role}") for role in COLUMN_FLAGS.values()
             if getattr(args, f"col_{role}") is not None}
    if args.columns == "auto":
        if named:
            flags = [flag for flag, role in COLUMN_FLAGS.items() if role in named]
            raise _Fail(f"give either --columns auto or the column flags ({', '.join(flags)}), "
                        "not both: with auto every column is found from the header.")
        return "auto"
    if "customer" not in named or "date" not in named:
        raise _Fail("name the columns: give --customer-col and --date-col (and the amount), "
                    "or --columns auto to find them from the header.")
    if args.col_amount and (args.col_quantity or args.col_unit_price):
        raise _Fail("give either --amount-col or --quantity-col with --unit-price-col, not both.")
    if not args.col_amount and not (args.col_quantity and args.col_unit_price):
        raise _Fail("the amount is missing: give --amount-col, or both --quantity-col and "
                    "--unit-price-col (amount = quantity x unit price).")
    if args.valid_status and not args.col_status:
        raise _Fail("--valid-status needs --status-col naming the status column.")
    return named


def _run_analyze(args: argparse.Namespace, progress: _Progress) -> Any:
    from rfm_loyalty.analysis import analyze

    columns = _columns(args)  # every option is checked before the file is looked at
    reading = _reading_options(args)
    _check_as_of(args.as_of)
    path = Path(args.input)
    if path.is_dir():
        raise _Fail(f"the input {str(path)!r} is a folder; give an order file.")
    if not path.is_file():
        raise _Fail(f"no input file at {str(path)!r}.")
    size_mb = path.stat().st_size / 1e6
    progress(f"reading and analysing {path} ({size_mb:,.1f} MB)")
    result = analyze(
        path, columns, as_of=args.as_of, n_bins=args.n_bins, margin=args.margin,
        cost_per_order=args.cost_per_order, cost_per_customer=args.cost_per_customer,
        churn_days=args.churn_days, **reading, **_analysis_options(args),
    )
    for what, how in result.quality.readings.items():
        progress(f"read {what}: {how}")
    return result


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


# --------------------------------------------------------------------------- #
# campaigns: audience and lift
# --------------------------------------------------------------------------- #
_EPILOG_AUDIENCE = """\
examples:
  # win-back: recovery cohorts, 10% control, nobody contacted in the last 14 days
  rfm-loyalty audience out --name winback-2025-01 --lifecycle high_recovery \\
      --lifecycle low_recovery --contacts contacts.csv --min-days-between-contacts 14 \\
      --out campaigns/winback-2025-01

  # a customers.csv, the 5,000 most valuable At Risk customers, GB18030 for the SMS tool
  rfm-loyalty audience customers.csv --name atrisk --segment "At Risk" --max-size 5000 \\
      --date 2025-01-15 --encoding gb18030 --out campaigns/atrisk

INPUT is an export folder of 'rfm-loyalty analyze' (its customers.csv and
metadata.json: the campaign date defaults to the analysis date) or a
customers.csv. Writes send_list, assignment and funnel files and
campaign.json into --out, and prints the audience. Errors are one line on
stderr with exit code 2.
"""

_EPILOG_LIFT = """\
example:
  rfm-loyalty lift campaigns/winback-2025-01/assignment.csv january_orders.csv \\
      --start 2025-01-15 --end 2025-02-14 --margin 0.3 --out campaigns/winback-2025-01

ORDERS has the columns customer_id, order_date, amount (or name yours with
--customer-col, --date-col and --amount-col or --quantity-col with
--unit-price-col). Prints treatment vs control; with --out writes the tables.
"""


def _add_audience_parser(sub: Any) -> None:
    aud = sub.add_parser(
        "audience", help="select a campaign audience with a control group",
        description="Select a campaign's audience from an analysis's customer table, split it "
        "into treatment and control, and write the files for the CRM or SMS tool.",
        epilog=_EPILOG_AUDIENCE, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    aud.add_argument("input", metavar="INPUT", help="export folder or customers.csv")
    aud.add_argument("--name", required=True, help="campaign name (keys the control group)")
    rules = aud.add_argument_group("who (each flag repeatable)")
    rules.add_argument("--lifecycle", action="append", metavar="LABEL",
                       help="keep this lifecycle label (e.g. high_recovery)")
    rules.add_argument("--segment", action="append", metavar="NAME",
                       help="keep this RFM segment (e.g. 'At Risk')")
    rules.add_argument("--tier", action="append", metavar="TIER",
                       help="keep this profit tier (profitable, break_even, resource_wasting)")
    rules.add_argument("--min-p-alive", type=float, metavar="P",
                       help="keep customers with p_alive >= P (needs --models at analyze)")
    rules.add_argument("--where", metavar="EXPR",
                       help="keep customers meeting a pandas expression, e.g. "
                       "'monetary_total > 500'")
    rules.add_argument("--exclude", metavar="FILE",
                       help="CSV of customers never to contact (a customer_id column)")
    rules.add_argument("--contacts", metavar="FILE",
                       help="contact log CSV: customer_id, contact_date (ISO), channel")
    rules.add_argument("--min-days-between-contacts", type=int, metavar="DAYS",
                       help="skip customers contacted fewer than DAYS days from the date")
    rules.add_argument("--max-size", type=int, metavar="N", help="at most N customers")
    split = aud.add_argument_group("control group and sending")
    split.add_argument("--holdout", default="0.1", metavar="H",
                       help="control group: a share (0.1) or a count (500); default 0.1")
    split.add_argument("--split", default="stable", choices=("stable", "exact"),
                       help="stable (default) or exact per-stratum counts")
    split.add_argument("--date", metavar="DATE",
                       help="campaign date (default: the analysis date of INPUT)")
    split.add_argument("--channel", default="sms", help="channel (default sms)")
    split.add_argument("--cost-per-contact", type=float, metavar="X",
                       help="cost of one contact (default: the channel's, sms 0.05)")
    split.add_argument("--template", metavar="T",
                       help="message template of every row (default NAME/<lifecycle>)")
    split.add_argument("--passthrough", action="append", metavar="COL",
                       help="copy this column of INPUT into the send list (repeatable)")
    out = aud.add_argument_group("output")
    out.add_argument("--out", required=True, metavar="DIR", help="output folder")
    out.add_argument("--format", default="csv", metavar="F[,F]",
                     help="csv, xlsx, json, comma-separated (default csv)")
    out.add_argument("--encoding", default="utf-8-sig",
                     choices=("utf-8-sig", "utf-8", "gb18030"),
                     help="CSV encoding (default utf-8-sig: UTF-8 with a BOM for Excel)")
    out.add_argument("--quiet", action="store_true", help="print nothing but warnings/errors")
    aud.set_defaults(run=_run_audience)


def _add_lift_parser(sub: Any) -> None:
    lift = sub.add_parser(
        "lift", help="measure a campaign: treatment vs control after it",
        description="Compare the treatment and control groups of an assignment file over the "
        "orders of a window after the campaign.",
        epilog=_EPILOG_LIFT, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lift.add_argument("assignment", metavar="ASSIGNMENT", help="assignment file (.csv/.xlsx/.json)")
    lift.add_argument("orders", metavar="ORDERS", help="orders after the campaign (.csv, ...)")
    lift.add_argument("--start", required=True, metavar="DATE", help="first day of the window")
    lift.add_argument("--end", required=True, metavar="DATE", help="last day of the window")
    cols = lift.add_argument_group("columns of ORDERS (default customer_id, order_date, amount)")
    cols.add_argument("--customer-col", metavar="C")
    cols.add_argument("--date-col", metavar="D")
    cols.add_argument("--amount-col", metavar="A")
    cols.add_argument("--quantity-col", metavar="Q")
    cols.add_argument("--unit-price-col", metavar="P")
    cols.add_argument("--order-id-col", metavar="O")
    cols.add_argument("--columns", choices=("auto",), default=None,
                      help="auto: find the columns from the header (docs/columns.md)")
    _reading_flags(lift)
    opts = lift.add_argument_group("measurement")
    opts.add_argument("--min-group-size", type=int, default=30, metavar="N",
                      help="smallest group with a per-label interval (default 30)")
    opts.add_argument("--detect-lift", type=float, default=0.02, metavar="X",
                      help="response lift to detect, warned about when the groups are too "
                      "small (default 0.02)")
    opts.add_argument("--cost", type=float, metavar="X",
                      help="campaign cost (default: from the assignment's contact costs)")
    opts.add_argument("--margin", type=float, metavar="M",
                      help="gross margin for incremental profit and ROI, e.g. 0.3")
    opts.add_argument("--out", metavar="DIR", help="also write the tables into DIR")
    opts.add_argument("--quiet", action="store_true", help="print nothing but warnings/errors")
    lift.set_defaults(run=_run_lift)


def _read_csv_ids(path_text: str, flag: str) -> Any:
    import pandas as pd

    path = Path(path_text)
    if not path.is_file():
        raise _Fail(f"{flag}: no file at {str(path)!r}.")
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _read_customers(path: Path) -> tuple[Any, Any]:
    """Read the customer table of an export folder or a customers CSV, and its as_of."""
    import json

    import pandas as pd

    from rfm_loyalty._campaigns.files import restore_text
    from rfm_loyalty.export import SCHEMAS, read_export

    folder = path if path.is_dir() else path.parent
    if path.is_dir():
        if not (path / "customers.csv").is_file():
            raise _Fail(f"no customers.csv in the folder {str(path)!r}; run 'rfm-loyalty "
                        "analyze' with --out there first.")
        table = read_export(path, "customers")
    elif path.is_file():
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        table = raw.replace({"": None}) if len(raw) else raw
        for spec in SCHEMAS["customers"].columns:
            if spec.name in table.columns and spec.dtype in ("int64", "float64"):
                numbers = pd.to_numeric(table[spec.name])
                table[spec.name] = numbers.astype("int64" if spec.dtype == "int64"
                                                  else "float64")
    else:
        raise _Fail(f"no export folder or customers file at {str(path)!r}.")
    as_of = None
    meta = folder / "metadata.json"
    if meta.is_file():
        as_of = json.loads(meta.read_text(encoding="utf-8")).get("as_of")
    return restore_text(table, escaped=False), as_of


def _holdout(text: str) -> float | int:
    try:
        return int(text) if text.strip().isdigit() else float(text)
    except ValueError:
        raise _Fail(f"--holdout must be a share such as 0.1 or a count such as 500; "
                    f"got {text!r}.") from None


def _run_audience(args: argparse.Namespace, progress: _Progress) -> Any:
    from rfm_loyalty.campaigns import select_audience

    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in ("csv", "xlsx", "json")]
    if bad or not formats:
        raise _Fail(f"--format must be one or more of csv, xlsx, json separated by commas; "
                    f"got {args.format!r}.")
    table, as_of = _read_customers(Path(args.input))
    date = args.date or as_of  # text: the library refuses a date that reads two ways
    if date is None:
        raise _Fail(f"give the campaign date with --date (e.g. --date 2025-01-15): no "
                    f"metadata.json beside {args.input!r} says the analysis date.")
    exclude = _read_csv_ids(args.exclude, "--exclude") if args.exclude else None
    contacts = _read_csv_ids(args.contacts, "--contacts") if args.contacts else None
    progress(f"selecting from {len(table):,} customers")
    audience = select_audience(
        table, name=args.name, lifecycle=args.lifecycle, segments=args.segment,
        tiers=args.tier, min_p_alive=args.min_p_alive, where=args.where, exclude=exclude,
        contacts=contacts, min_days_between_contacts=args.min_days_between_contacts,
        max_size=args.max_size, holdout=_holdout(args.holdout), split=args.split, date=date,
        channel=args.channel, cost_per_contact=args.cost_per_contact, template=args.template,
        passthrough=args.passthrough or (),
    )
    files = audience.export(args.out, format=formats, encoding=args.encoding)
    progress(f"wrote {len(files)} files to {args.out}/")
    return audience


def _run_lift(args: argparse.Namespace, progress: _Progress) -> Any:
    from rfm_loyalty._campaigns.lift import check_lift_params
    from rfm_loyalty.campaigns import campaign_lift
    from rfm_loyalty.orders import OrderColumns

    for label, value in (("assignment file", args.assignment), ("order file", args.orders)):
        if not Path(value).is_file():
            raise _Fail(f"no {label} at {str(value)!r}.")
    named = (args.customer_col, args.date_col, args.amount_col, args.quantity_col,
             args.unit_price_col, args.order_id_col)
    columns: Any = None
    if args.columns == "auto":
        if any(named):
            raise _Fail("give either --columns auto or the column flags, not both: with auto "
                        "every column is found from the header.")
        columns = "auto"
    elif any(named):
        if args.amount_col and (args.quantity_col or args.unit_price_col):
            raise _Fail("give either --amount-col or --quantity-col with --unit-price-col, "
                        "not both.")
        priced = args.quantity_col and args.unit_price_col
        columns = OrderColumns(
            customer=args.customer_col or "customer_id", date=args.date_col or "order_date",
            amount=None if priced else (args.amount_col or "amount"),
            quantity=args.quantity_col, unit_price=args.unit_price_col,
            order_id=args.order_id_col,
        )
    # The window and the measurement options are checked before the orders are read.
    check_lift_params(args.start, args.end, min_group_size=args.min_group_size,
                      detect_lift=args.detect_lift, cost=args.cost, margin=args.margin)
    reading = _reading_options(args)
    orders: Any = args.orders
    if reading or columns == "auto":
        from rfm_loyalty.orders import read_orders

        if "valid_statuses" in reading and columns != "auto":
            raise _Fail("--valid-status needs a status column: use --columns auto with a "
                        "status header.")
        orders, columns = read_orders(args.orders, columns, **reading), None
        for what, how in orders.quality.readings.items():
            progress(f"read {what}: {how}")
    progress(f"measuring {args.assignment} over {args.orders}")
    result = campaign_lift(
        orders, args.assignment, start=args.start, end=args.end,
        columns=columns, min_group_size=args.min_group_size, detect_lift=args.detect_lift,
        cost=args.cost, margin=args.margin,
    )
    if args.out:
        files = result.export(args.out)
        progress(f"wrote {len(files)} files to {args.out}/")
    return result


def _run_command(args: argparse.Namespace, progress: _Progress, out: TextIO,
                 err: TextIO) -> int:
    """Run a subcommand that returns a printable result, with main's error rules."""
    def show(message: Any, category: Any, *_: Any, **__: Any) -> None:
        print(f"{PROG}: warning: {_one_line(message)}", file=err, flush=True)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("always", UserWarning)
            warnings.showwarning = show
            result = args.run(args, progress)
    except _user_errors() as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=err)
        return 2
    if not args.quiet:
        print(result, file=out)
    return 0


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _user_errors() -> tuple[type[BaseException], ...]:
    from rfm_loyalty.exceptions import RFMError

    # EOFError: a truncated .gz; UnicodeError is a ValueError
    errors: list[type[BaseException]] = [_Fail, RFMError, ValueError, OSError, ImportError,
                                          EOFError]
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
    if hasattr(args, "run"):  # subcommands that run and print themselves (audience, lift)
        return _run_command(args, progress, out, err)
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
        print(result, file=out)  # the summary holds every caveat
    else:  # the caveats that can mislead still print, like warnings (models' were printed)
        for caveat in result.caveats:
            if caveat.severity == "warning" and caveat.code != "model_warning":
                print(f"{PROG}: warning: caveat {caveat.code}: {caveat.message}", file=err)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
