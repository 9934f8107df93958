"""Shared pytest fixtures.

Services
--------
``postgres_url``: a throwaway PostgreSQL server for the test session, started
from the server binaries (``initdb`` + ``pg_ctl``, PostgreSQL 15 on Debian in
``/usr/lib/postgresql/<version>/bin``; ``scripts/install_test_services.sh``
installs them) in a temporary folder on a free localhost port, trusting local
connections, and stopped at the end of the session. ``initdb`` refuses to run
as root, so under root the server runs as the ``postgres`` user (``runuser``).
Tests that use it skip with the reason when it cannot start.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from rfm_loyalty import OrderColumns

from .helpers import REAL_DATA, quiet_prepare


def _postgres_bindir() -> Path | None:
    candidates = [os.environ.get("RFM_PG_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for folder in candidates:
        if folder and all((Path(folder) / tool).exists() for tool in ("initdb", "pg_ctl")):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as(user: str | None) -> list[str]:
    if user is None:
        return []
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", user, "--"]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a throwaway PostgreSQL server (skips when it cannot start)."""
    try:
        import psycopg  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"PostgreSQL tests need SQLAlchemy and psycopg: {exc}")
    bindir = _postgres_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin "
            "or on PATH; run scripts/install_test_services.sh as root"
        )
    user = None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run initdb as")
        user = "postgres"
    # Under /tmp directly: pytest's own temp folders are private to root.
    base = Path(tempfile.mkdtemp(prefix="rfm-pg-"))
    data, log = base / "data", base / "server.log"
    if user is not None:
        shutil.chown(base, user=user)
    port = _free_port()
    prefix = _run_as(user)
    pg_ctl = [*prefix, str(bindir / "pg_ctl"), "-D", str(data)]
    try:
        init = subprocess.run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "rfm", "--auth=trust",
             "-E", "UTF8", "--no-locale", "--no-sync"],
            capture_output=True, text=True, timeout=120, check=False,
        )
        if init.returncode != 0:
            problem = f"initdb failed: {init.stderr.strip().splitlines()[-1:]}"
        else:
            problem = _start(pg_ctl, port, base, log)
    except (OSError, subprocess.TimeoutExpired) as exc:
        problem = f"PostgreSQL could not be started: {exc}"
    if problem:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(problem)
    try:
        yield f"postgresql+psycopg://rfm@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True,
                       timeout=60, check=False)
        shutil.rmtree(base, ignore_errors=True)


def _start(pg_ctl: list[str], port: int, base: Path, log: Path) -> str:
    """Start the server; return "" or why it did not start."""
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = subprocess.run(
        [*pg_ctl, "-o", options, "-l", str(log), "-w", "-t", "60", "start"],
        capture_output=True, text=True, timeout=90, check=False,
    )
    if start.returncode == 0:
        return ""
    tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
    return f"PostgreSQL did not start: {start.stderr.strip()} {tail}"


@pytest.fixture(scope="session")
def retail():
    """The UCI Online Retail lines prepared once per session (skips when absent).

    Columns as the data set names them; the 135,080 lines without a customer are
    dropped and counted (the DataQualityWarning is silenced here, asserted in
    tests/test_orders.py).
    """
    if not REAL_DATA.exists():
        pytest.skip(f"real data not found at {REAL_DATA} (see shared/data/README.md)")
    columns = OrderColumns(customer="CustomerID", date="InvoiceDate", quantity="Quantity",
                           unit_price="UnitPrice", order_id="InvoiceNo")
    lines = pd.read_csv(REAL_DATA, dtype={"CustomerID": str, "InvoiceNo": str,
                                          "StockCode": str})
    return quiet_prepare(lines, columns)
