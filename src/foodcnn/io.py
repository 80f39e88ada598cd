"""Atomic file writes, so an interrupted stage never leaves a half file that looks finished, and folders
rewritten whole, so a failing stage leaves the last good ones in place."""

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` and move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


@contextmanager
def fresh_dir(path: str | Path) -> Iterator[Path]:
    """Yield `path` emptied for a stage to fill afresh; if the block fails, put the previous contents back.

    The old folder is moved aside, not copied, so this costs nothing however large it is. While the block runs,
    .<name>.previous holds the last good folder; a run killed there leaves it, and the next run restores it.
    """
    path = Path(path)
    previous, discarded = (path.with_name(f".{path.name}.{kind}") for kind in ("previous", "discarded"))
    shutil.rmtree(discarded, ignore_errors=True)
    if previous.exists():
        shutil.rmtree(path, ignore_errors=True)
        os.replace(previous, path)
    if path.exists():
        os.replace(path, previous)
    try:
        yield path
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        if previous.exists():
            os.replace(previous, path)
        raise
    if previous.exists():  # renamed first, so a half-deleted folder is never taken for the last good one
        os.replace(previous, discarded)
        shutil.rmtree(discarded)


@contextmanager
def atomic_text(path: str | Path) -> Iterator[IO[str]]:
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as handle:
        yield handle


def write_json(path: str | Path, data: Any) -> None:
    with atomic_text(path) as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")


def read_json(path: str | Path) -> Any:
    with open(path) as handle:
        return json.load(handle)


def write_table(path: str | Path, rows: Iterable[dict[str, Any]], delimiter: str = ",") -> None:
    """Write dict rows as CSV (or TSV with delimiter='\\t'), one at a time; columns come from the first row."""
    remaining = iter(rows)
    first = next(remaining)
    with atomic_text(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(first), delimiter=delimiter, lineterminator="\n")
        writer.writeheader()
        writer.writerow(first)
        writer.writerows(remaining)


def read_table(path: str | Path, delimiter: str = ",") -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def save_torch(path: str | Path, data: Any) -> None:
    """Save with torch.save; the same data always gives the same bytes, so DVC sees unchanged outputs."""
    import torch  # here, not at the top: the stages that write only JSON and CSV start without torch

    # Given a path, torch.save names the archive's inner folder after the (random) temporary file.
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        torch.save(data, handle)
