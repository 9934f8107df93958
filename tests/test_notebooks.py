"""The notebooks execute from top to bottom, and are committed without outputs.

They run in a kernel started with this interpreter (a kernel spec written to a
temporary folder), so the notebooks see the same rfm_loyalty and pandas as the
tests, whatever "python3" kernel the machine's Jupyter would otherwise pick.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
DATA = REPO.parent / "shared" / "data" / "online_retail.csv.gz"
KERNEL = "rfm-loyalty-test-python"
# Warnings that must never reach a notebook user (the test run treats them as errors).
FORBIDDEN = ("FutureWarning", "DeprecationWarning", "PerformanceWarning", "SettingWithCopy")


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory) -> KernelSpecManager:
    folder = tmp_path_factory.mktemp("kernels") / KERNEL
    folder.mkdir()
    spec = {
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
                 "-f", "{connection_file}"],
        "display_name": "rfm_loyalty tests",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec))
    return KernelSpecManager(kernel_dirs=[str(folder.parent)])


def execute(name: str, specs: KernelSpecManager):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    client = nbclient.NotebookClient(
        notebook, km=manager, timeout=600, kernel_name=KERNEL,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return notebook


def outputs(notebook, kind: str) -> list:
    return [out for cell in notebook.cells if cell.cell_type == "code"
            for out in cell.outputs if out.output_type == kind]


def stream_text(notebook, name: str) -> str:
    return "".join(out.text for out in outputs(notebook, "stream") if out.name == name)


def images(notebook) -> int:
    return sum("image/png" in out.data for kind in ("display_data", "execute_result")
               for out in outputs(notebook, kind))


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {index} has outputs: clear them"
            assert cell.execution_count is None, f"{path.name} cell {index} has a count"
    assert notebook.metadata["kernelspec"]["name"] == "python3"


def test_the_notebooks_exist():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == [
        "01_quickstart.ipynb", "02_real_data.ipynb", "03_loyalty.ipynb",
    ]


def test_quickstart_runs(kernel_specs):
    notebook = execute("01_quickstart.ipynb", kernel_specs)
    stderr = stream_text(notebook, "stderr")
    assert not any(word in stderr for word in FORBIDDEN), stderr
    stdout = stream_text(notebook, "stdout")
    assert "RFM analysis as of 2024-12-31" in stdout
    html = "".join(out.data.get("text/html", "") for out in outputs(notebook, "execute_result"))
    assert "Lifecycle" in html  # the dashboard rendered
    assert images(notebook) == 8  # one per plotting cell
    last = notebook.cells[-1].outputs[0].data["text/plain"]
    assert "metadata.json" in last and "report.html" in last


@pytest.mark.slow
def test_real_data_runs(kernel_specs):
    if not DATA.exists():
        pytest.skip(f"real data not found at {DATA} (the shared/ folder beside the repo)")
    notebook = execute("02_real_data.ipynb", kernel_specs)
    stderr = stream_text(notebook, "stderr")
    assert not any(word in stderr for word in FORBIDDEN), stderr
    stdout = stream_text(notebook, "stdout")
    assert "541,909" in stdout  # the quality report accounts for every input row
    assert "RFM analysis as of 2011-12-09" in stdout
    assert "Backtest: calibration to 2011-09-09" in stdout
    assert images(notebook) == 9  # one per plotting cell


@pytest.mark.slow
def test_loyalty_notebook_runs(kernel_specs):
    if not DATA.exists():
        pytest.skip(f"real data not found at {DATA} (the shared/ folder beside the repo)")
    notebook = execute("03_loyalty.ipynb", kernel_specs)
    stderr = stream_text(notebook, "stderr")
    assert not any(word in stderr for word in FORBIDDEN), stderr
    stdout = stream_text(notebook, "stdout")
    assert "541,909 lines -> 22,190 orders of 4,372 customers, as of 2011-12-09" in stdout
    assert "Loyalty indicators as of 2011-12-09: 4,338 customers" in stdout  # with a purchase
    assert "left out discount_spend_share: needs the list_price or discount column" in stdout
    assert "repeat rate: 64.3% of customers" in stdout
    assert "Second purchase as of 2011-12-09 (4,338 new customers)" in stdout
    assert "Retention +5 points over 12 periods" in stdout
    assert images(notebook) == 3  # one per plotting cell


def test_real_data_stops_cleanly_without_data(monkeypatch, tmp_path):
    # The data-finding cell, run in this process (no kernel needed for one cell).
    notebook = nbformat.read(NOTEBOOKS / "02_real_data.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if "StopNotebook" in c.source)
    missing = tmp_path / "nowhere" / "online_retail.csv.gz"
    monkeypatch.setenv("RFM_LOYALTY_ONLINE_RETAIL", str(missing))
    namespace: dict = {}
    with pytest.raises(Exception) as stopped:
        exec(compile(cell.source, "02_real_data.ipynb", "exec"), namespace)
    assert type(stopped.value).__name__ == "StopNotebook"
    assert f"The Online Retail data is not at {missing}" in str(stopped.value)
    # Jupyter shows _render_traceback_ instead of a traceback: one line, the message.
    assert stopped.value._render_traceback_() == [f"StopNotebook: {stopped.value}"]
    # With the variable pointing at a file that exists, the same cell passes.
    present = tmp_path / "online_retail.csv.gz"
    present.write_bytes(b"")
    monkeypatch.setenv("RFM_LOYALTY_ONLINE_RETAIL", str(present))
    exec(compile(cell.source, "02_real_data.ipynb", "exec"), namespace)
    assert namespace["DATA"] == present
