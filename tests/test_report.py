"""Tests of the HTML report, the notebook dashboard and the text view."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import warnings
from pathlib import Path
from urllib.parse import urlparse

import pytest

from rfm_loyalty import BinningWarning, ModelWarning
from rfm_loyalty.analysis import Analysis, analyze
from rfm_loyalty.datasets import make_orders
from rfm_loyalty.report import SECTIONS, html_dashboard, text_summary
from rfm_loyalty.segments import Segment

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                        else None)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _analyze(data, **kwargs) -> Analysis:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BinningWarning)
        warnings.simplefilter("ignore", ModelWarning)
        return analyze(data, **kwargs)


@pytest.fixture(scope="module")
def full() -> Analysis:
    return _analyze(make_orders(250, random_state=11), cost_per_order=5.0, models=True)


@pytest.fixture(scope="module")
def full_report(full, tmp_path_factory) -> Path:
    return full.report(tmp_path_factory.mktemp("report") / "sub" / "report.html")


def test_report_has_every_section_in_order(full_report):
    text = full_report.read_text(encoding="utf-8")
    positions = [text.index(f"<h2>{title}</h2>") for title in SECTIONS]
    assert positions == sorted(positions)
    assert text.startswith("<!DOCTYPE html>")
    assert "<meta charset='utf-8'>" in text
    assert "开展促进二次购买的营销活动。" in text  # Chinese action beside the English one
    assert "Campaign for the second purchase." in text


def test_report_is_self_contained(full_report):
    text = full_report.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=\s*['\"]?\s*(https?:)?//", text, re.IGNORECASE)
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert "@import" not in text and "url(" not in text
    sources = re.findall(r"<img [^>]*src='([^']*)'", text)
    assert len(sources) >= 9  # lifecycle, segments, heatmap, pareto, whale, tiers, retention,
    #                           flow, p_alive matrix, p_alive histogram
    for source in sources:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1])[:8] == PNG_SIGNATURE


def test_report_without_cost_and_models_says_why(tmp_path):
    result = _analyze(make_orders(60, random_state=2, with_cost=False), n_bins=3)
    text = result.report(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No profitability: the orders have no cost column and margin=None." in text
    assert "Not fitted: run analyze(..., models=True)" in text
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in text


def test_text_is_escaped(tmp_path):
    rules = (Segment("<script>alert(1)</script>", r=(2, 3), action="<b>act</b> & go"),)
    result = _analyze(make_orders(40, random_state=5), n_bins=3, segments=rules)
    page = result.report(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;act&lt;/b&gt; &amp; go" in page
    assert "<script>" not in html_dashboard(result)


def test_dashboard_and_text_views(full):
    page = html_dashboard(full)
    for part in ("Lifecycle cohorts", "RFM segments", "Revenue 80/20", "Profit 80/20/30",
                 "rows in", "Models: bgnbd.r="):
        assert part in page
    text = text_summary(full)
    assert text == str(full)
    lines = text.splitlines()
    assert lines[1].startswith("Customers: 250 customers with a purchase; ")
    assert lines[2].startswith("Revenue: gross sales ")
    assert lines[3].startswith("Data quality: ")
    assert lines[4].startswith("Revenue 80/20: the top 20% of customers hold ")
    assert lines[5].startswith("Profit 80/20/30: the top 20% make ")
    assert lines[6].startswith("Models: bgnbd.r=")


needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed; run scripts/install_test_services.sh as root "
    "(Debian package 'chromium')",
)
# Chromium's own background services (sign-in, time sync, component updates) still
# call these hosts from a fresh profile; they are not requests of the page.
BROWSER_SERVICE_HOSTS = ("google.com", "googleapis.com", "gstatic.com", "gvt1.com")


def _chromium(page: Path, tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess,
                                                                 list[str]]:
    """Open a page headless; return the run and the network URLs the page requested."""
    netlog = tmp_path / "netlog.json"
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
             # nothing leaves the machine, and every request is recorded
             "--host-resolver-rules=MAP * ~NOTFOUND", f"--log-net-log={netlog}"]
    run = subprocess.run([*flags, *extra, page.resolve().as_uri()], capture_output=True,
                         text=True, timeout=120, check=False)
    text = netlog.read_text(encoding="utf-8") if netlog.exists() else '{"events": []}'
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # a log cut short at exit lacks its closing brackets
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    start_job = log.get("constants", {}).get("logEventTypes", {}).get("URL_REQUEST_START_JOB")
    urls = {e["params"]["url"] for e in log["events"]
            if e.get("type") == start_job and "url" in e.get("params", {})}
    page_urls = [u for u in sorted(urls)
                 if not (urlparse(u).hostname or "").endswith(BROWSER_SERVICE_HOSTS)]
    return run, page_urls


@needs_chromium
def test_network_check_sees_an_external_request(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text("<html><body><h2>x</h2><img src='http://example.invalid/a.png'></body></html>")
    _, requested = _chromium(page, tmp_path, "--dump-dom")
    assert requested == ["http://example.invalid/a.png"]


@needs_chromium
def test_report_renders_in_headless_chromium(full_report, tmp_path):
    dom, requested = _chromium(full_report, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert requested == []  # no request left the page
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in dom.stdout
    assert dom.stdout.count("<img ") == full_report.read_text(encoding="utf-8").count("<img ")
    shot = tmp_path / "report.png"
    run, requested = _chromium(full_report, tmp_path, "--window-size=1200,3000",
                               f"--screenshot={shot}")
    assert run.returncode == 0, run.stderr[-2000:]
    assert requested == []
    data = shot.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 50_000  # a rendered page with charts, not a blank one


# --------------------------------------------------------------------------- #
# atomic, reproducible, bounded
# --------------------------------------------------------------------------- #
def test_report_is_written_atomically(full, tmp_path, monkeypatch):
    import os

    from rfm_loyalty.report import write_report

    target = tmp_path / "report.html"
    target.write_text("<html>previous</html>", encoding="utf-8")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    from rfm_loyalty import report as report_module

    page = "<html>" + "new report " * 10_000 + "</html>"
    monkeypatch.setattr(report_module, "report_html", lambda analysis, **options: page)
    monkeypatch.setattr(os, "fsync", full_disk)  # the page is written, flushing it fails
    with pytest.raises(OSError, match="No space left"):
        full.report(target)
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    assert target.read_text(encoding="utf-8") == "<html>previous</html>"
    full.report(target)
    assert target.read_text(encoding="utf-8") == page
    target.write_text("<html>previous</html>", encoding="utf-8")
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "<html>previous</html>"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left
    with pytest.raises(IsADirectoryError, match=r"it is a folder. Give a file path"):
        write_report(full, tmp_path)


def test_report_time_follows_source_date_epoch_or_is_left_out(full, tmp_path, monkeypatch):
    from rfm_loyalty.report import report_html, write_report

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    page = report_html(full)  # (the same bytes in another process: tests/test_export.py)
    assert "; created 2023-11-14 22:13 UTC." in page
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    quiet = write_report(full, tmp_path / "r.html", timestamp=False).read_text(encoding="utf-8")
    assert "created" not in quiet.split("<section", 1)[0]
    assert quiet == page.replace("; created 2023-11-14 22:13 UTC.", ".")


def test_curves_are_drawn_at_1001_points_however_many_customers():
    from rfm_loyalty.plotting import plot_pareto, plot_whale_curve

    result = _analyze(make_orders(3000, random_state=8), cost_per_order=5.0, n_bins=4)
    assert result.pareto.n_customers == 3000
    ax = plot_pareto(result.pareto)
    drawn = max(len(line.get_xdata()) for line in ax.lines)
    assert drawn == 1001
    ax.figure.clf()
    ax = plot_whale_curve(result.profitability)
    assert max(len(line.get_xdata()) for line in ax.lines) == 1001
    ax.figure.clf()
