"""Write tests/data/real_world/: small order files as real shops and tools write them.

Usage (from the repository root):

    .venv/bin/python scripts/make_real_world_files.py          # rewrite the files
    .venv/bin/python scripts/make_real_world_files.py --check  # exit 1 if a file differs

Each file is a few orders written the way a real export writes them (a shop
back-end's GB18030 CSV with Chinese headers, a day-first European CSV, an
Excel workbook...). The files are built here from fixed rows, so they are
small, reviewable and byte-for-byte reproducible; the tests in
``tests/test_real_world_*.py`` read each one and compare it with the expected
customer table or the expected error text.

The makers live in ``scripts/real_world/`` (one module per topic: dates, text
files and numbers, columns); each exposes ``FILES``, a dict of file name ->
function returning the file's bytes.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "tests" / "data" / "real_world"
TOPICS = ("dates", "text_files", "columns")


def makers() -> dict[str, Callable[[], bytes]]:
    """Return every file name -> maker, from the topic modules in scripts/real_world/."""
    sys.path.insert(0, str(ROOT / "scripts"))
    found: dict[str, Callable[[], bytes]] = {}
    for topic in TOPICS:
        try:
            module = importlib.import_module(f"real_world.{topic}")
        except ModuleNotFoundError as error:
            if error.name != f"real_world.{topic}":
                raise
            continue
        for name, make in module.FILES.items():
            if name in found:
                raise SystemExit(f"{name} is made by two topic modules")
            found[name] = make
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file differs")
    args = parser.parse_args(argv)
    TARGET.mkdir(parents=True, exist_ok=True)
    stale = []
    for name, make in sorted(makers().items()):
        content = make()
        path = TARGET / name
        if args.check:
            if not path.exists() or path.read_bytes() != content:
                stale.append(name)
        else:
            path.write_bytes(content)
    if stale:
        print("out of date (run scripts/make_real_world_files.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
