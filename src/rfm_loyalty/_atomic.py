"""Write files so that a failure leaves the previous ones intact: stage, then swap in.

An export is written into a temporary folder first and only swapped into
the target folder once every file is complete and flushed to disk. A failure
before that point (a writer error, a full disk, a table name taken by a
folder) leaves the target exactly as it was and removes the temporary folder.

* A target folder that does not exist yet is staged beside it
  (``.<name>.rfm-export-<random>``) and renamed into place: one atomic step.
* An existing target folder may hold the user's own files, and may be a mount
  point, so it is never replaced as a whole. The files are staged inside it
  (``<target>/.rfm-export-<random>``, the same file system) and renamed into
  place one by one; ``metadata.json`` is removed first and written last, so a
  reader that finds ``metadata.json`` finds a complete export. "The previous
  export" is the set of files named in the target's ``metadata.json``
  (``files``): those this export does not write again are deleted; every
  other file in the folder is left alone.

Single files (the HTML report) are written to a temporary file beside the
target and renamed over it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path

from rfm_loyalty._writers import sync_file

METADATA = "metadata.json"


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some systems cannot open a folder; its entries are then unsynced
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _is_plain_name(name: object) -> bool:
    return (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name
            and "\\" not in name and os.sep not in name)


def previous_files(folder: Path) -> list[str]:
    """Return the file names the export in ``folder`` wrote (its metadata.json ``files``).

    A missing or unreadable metadata.json, or one written by another tool,
    gives no name: such files are not known to be an export's.
    """
    try:
        meta = json.loads((folder / METADATA).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    files = meta.get("files") if isinstance(meta, dict) else None
    if not isinstance(files, list):
        return []
    return [name for name in files if _is_plain_name(name) and name != METADATA]


class StagedFolder:
    """A temporary folder whose files are swapped into ``target`` by :meth:`commit`.

    Parameters
    ----------
    target : pathlib.Path
        The folder the files are meant for; created by the commit when missing.
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        if target.exists() and not target.is_dir():
            raise NotADirectoryError(
                f"Cannot export to {str(target)!r}: it is a file, not a folder. Give a folder "
                "path (it is created when missing)."
            )
        self.exists = target.is_dir()
        token = secrets.token_hex(6)
        if self.exists:
            self.path = target / f".rfm-export-{token}"
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.path = target.parent / f".{target.name}.rfm-export-{token}"
        os.mkdir(self.path)  # the usual permissions (mkdtemp would make it private)

    def check(self, names: Iterable[str]) -> None:
        """Raise before any work if a file of ``names`` cannot take its place in the target."""
        if not self.exists:
            return
        for name in names:
            place = self.target / name
            if place.is_dir() and not place.is_symlink():
                raise IsADirectoryError(
                    f"Cannot export to {str(self.target)!r}: {name!r} there is a folder, and the "
                    f"export writes a file of that name. Move or rename the folder, or export "
                    f"to another folder. Nothing was changed."
                )

    def commit(self, names: list[str]) -> None:
        """Swap the staged files ``names`` (metadata.json among them, last) into the target."""
        for name in names:
            sync_file(self.path / name)
        if not self.exists:
            os.rename(self.path, self.target)
            _sync_folder(self.target.parent)
            return
        self.check(names)
        stale = [n for n in previous_files(self.target) if n not in names]
        metadata = self.target / METADATA
        if metadata.is_file() or metadata.is_symlink():
            os.unlink(metadata)  # incomplete from here until the new metadata.json is in
        for name in names:
            if name != METADATA:
                os.replace(self.path / name, self.target / name)
        for name in stale:
            place = self.target / name
            if place.is_file() or place.is_symlink():
                place.unlink()
        if METADATA in names:
            os.replace(self.path / METADATA, metadata)
        os.rmdir(self.path)
        _sync_folder(self.target)

    def discard(self) -> None:
        """Remove the temporary folder and everything in it."""
        shutil.rmtree(self.path, ignore_errors=True)


def check_file_target(path: Path) -> None:
    """Raise when ``path`` cannot take a file (it is a folder), before any work is done."""
    if path.is_dir():
        raise IsADirectoryError(
            f"Cannot write {str(path)!r}: it is a folder. Give a file path, e.g. "
            f"{str(path / 'report.html')!r}."
        )


def write_file_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it, flushed, then renamed."""
    check_file_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
