"""Write an analysis to a database through SQLAlchemy, and read its tables back.

Table names are ``prefix + table``, checked against a strict pattern and
handed to SQLAlchemy as identifiers (it quotes them), never pasted into SQL
text, because the prefix comes from the caller. Column types follow the
schemas of :mod:`rfm_loyalty._schemas`. SQLAlchemy is imported inside the
functions, so the rest of the library works without it. The public names are
re-exported by :mod:`rfm_loyalty.export`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pandas as pd

from rfm_loyalty._export_tables import export_tables, metadata
from rfm_loyalty._schemas import SCHEMAS, typed
from rfm_loyalty._views import provide

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from rfm_loyalty.analysis import Analysis

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PREFIX = re.compile(r"^([a-z_][a-z0-9_]{0,29})?$")


def _table_name(prefix: str, name: str) -> str:
    full = f"{prefix}{name}"
    if not _NAME.fullmatch(full):
        raise ValueError(
            f"Table name {full!r} is not allowed: use lower-case letters, digits and '_', "
            "starting with a letter or '_', at most 63 characters."
        )
    return full


def _sql_types(table: str) -> dict[str, Any]:
    import sqlalchemy as sa

    types = {"text": sa.Text(), "int64": sa.BigInteger(), "float64": sa.Double(),
             "bool": sa.Boolean(), "datetime": sa.DateTime()}
    return {c.name: types[c.dtype] for c in SCHEMAS[table].columns}


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction around every statement, table creation and removal included.

    PostgreSQL runs DDL inside transactions. Python's sqlite3 driver does
    not open one before ``DROP``/``CREATE TABLE``, so those would commit on
    their own and a failure half-way would leave new, empty tables beside
    old ones; here the driver is told to leave transactions to us and the
    transaction is opened explicitly.
    """
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            with conn.begin():
                yield conn
            return
        dbapi: Any = conn.connection.dbapi_connection
        previous = dbapi.isolation_level
        dbapi.isolation_level = None  # the driver's autocommit mode: BEGIN is ours
        try:
            conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            dbapi.isolation_level = previous


@provide("write_sql")
def write_sql(
    analysis: Analysis, url_or_engine: str | Engine, *, prefix: str = "rfm_",
    if_exists: str = "fail", timestamp: bool = True,
) -> list[str]:
    """Write every table and a ``<prefix>metadata`` table through SQLAlchemy, atomically.

    Table names are ``prefix + table`` (e.g. ``rfm_customers``), checked
    against ``^[a-z_][a-z0-9_]{0,62}$`` and passed to SQLAlchemy as quoted
    identifiers, never pasted into SQL text. Column types follow the schema
    (TEXT, BIGINT, DOUBLE, BOOLEAN, TIMESTAMP). Everything is written in
    one transaction, table drops and creations included (SQLite too): when
    anything fails, every table keeps its previous content.

    Parameters
    ----------
    analysis : Analysis
    url_or_engine : str or sqlalchemy.engine.Engine
    prefix : str, default "rfm_"
        Lower-case letters, digits and ``_``, at most 30 characters; may be "".
    if_exists : {"fail", "replace", "append"}, default "fail"
        ``"fail"`` raises before writing anything when one of the tables exists.
    timestamp : bool, default True
        Record the time of the export in the metadata (``created_utc``,
        fixed by ``SOURCE_DATE_EPOCH``); False records null.

    Returns
    -------
    list of str
        The tables written, metadata last.

    Examples
    --------
    >>> from rfm_loyalty.analysis import analyze
    >>> from rfm_loyalty.datasets import make_orders
    >>> result = analyze(make_orders(50, random_state=1), n_bins=3)
    >>> write_sql(result, "sqlite://")[:2]
    ['rfm_customers', 'rfm_segments']
    """
    import sqlalchemy as sa

    if if_exists not in ("fail", "replace", "append"):
        raise ValueError(
            "The 'if_exists' parameter of to_sql must be 'fail', 'replace' or 'append'. "
            f"Got {if_exists!r} instead."
        )
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise ValueError(
            "The 'prefix' parameter of to_sql must be lower-case letters, digits and '_' "
            f"(at most 30, not starting with a digit), e.g. 'rfm_'. Got {prefix!r} instead."
        )
    tables = export_tables(analysis)
    names = {name: _table_name(prefix, name) for name in tables}
    meta_name = _table_name(prefix, "metadata")
    meta = metadata(analysis, tables, list(names.values()), timestamp=timestamp)
    meta_frame = pd.DataFrame(
        {"key": list(meta), "value": [json.dumps(v, ensure_ascii=False) for v in meta.values()]}
    )
    engine = sa.create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        with _transaction(engine) as conn:
            if if_exists == "fail":
                inspector = sa.inspect(conn)
                existing = [n for n in [*names.values(), meta_name] if inspector.has_table(n)]
                if existing:
                    raise ValueError(
                        f"Tables {existing!r} already exist. Pass if_exists='replace' to "
                        "overwrite them, 'append' to add rows, or another prefix."
                    )
            mode: Any = if_exists
            for name, frame in tables.items():
                frame.to_sql(names[name], conn, if_exists=mode, index=False,
                             dtype=_sql_types(name), chunksize=5000)
            meta_frame.to_sql(meta_name, conn, if_exists=mode, index=False,
                              dtype={"key": sa.Text(), "value": sa.Text()})
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()
    return [*names.values(), meta_name]


def read_sql(url_or_engine: str | Engine, table: str, *, prefix: str = "rfm_") -> pd.DataFrame:
    """Read a table written by :func:`write_sql` back with its schema's dtypes.

    Parameters
    ----------
    url_or_engine : str or sqlalchemy.engine.Engine
    table : str
        A name in :data:`SCHEMAS`, or ``"metadata"`` (returns key and the
        JSON-decoded value).
    prefix : str, default "rfm_"

    Returns
    -------
    pandas.DataFrame
        Default index; the schema's columns found in the table, in its dtypes.
        For ``"metadata"``: ``key`` (text) and ``value`` (the decoded JSON).

    Examples
    --------
    >>> import sqlalchemy as sa
    >>> from rfm_loyalty.analysis import analyze
    >>> from rfm_loyalty.datasets import load_sample_orders
    >>> engine = sa.create_engine("sqlite://")  # in memory, alive as long as the engine
    >>> written = write_sql(analyze(load_sample_orders(), n_bins=3), engine)
    >>> read_sql(engine, "lifecycle")[["lifecycle", "customers"]]
           lifecycle  customers
    0            new         57
    1         active        118
    2      returning         21
    3        cooling         90
    4  high_recovery        152
    5   low_recovery        221
    6           lost        341
    >>> meta = read_sql(engine, "metadata").set_index("key")["value"]
    >>> meta["as_of"], meta["input"]["rows"]
    ('2024-12-31', 9974)
    >>> engine.dispose()
    """
    import sqlalchemy as sa

    if table != "metadata" and table not in SCHEMAS:
        raise ValueError(f"Unknown table {table!r}; the tables are {list(SCHEMAS)!r}.")
    name = _table_name(prefix, table)
    engine = sa.create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        with engine.connect() as conn:
            frame = pd.read_sql_table(name, conn)
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()
    if table == "metadata":
        frame["value"] = frame["value"].map(json.loads)
        return frame
    return typed(frame, table)
