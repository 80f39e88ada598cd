"""The images stage's contract with the split stage: data/raw/<class>/<file>, and optionally a fixed test list.

A source with its own test split (Food-101's) lists those files, one path relative to data/raw a line,
in data/raw/fixed_test.txt; the split stage then keeps them as the test split. A plain file at the top of
data/raw is never read as a class, since classes are sub-folders.
"""

from collections.abc import Iterable
from pathlib import Path

from foodcnn.io import atomic_text

FIXED_TEST_FILE = "fixed_test.txt"


def write_fixed_test(raw: Path, paths: Iterable[str]) -> None:
    with atomic_text(raw / FIXED_TEST_FILE) as handle:
        handle.writelines(f"{path}\n" for path in sorted(paths))


def read_fixed_test(raw: Path) -> frozenset[str] | None:
    """The paths the source fixes as test images, or None when the split is free."""
    path = raw / FIXED_TEST_FILE
    if not path.is_file():
        return None
    return frozenset(line.strip() for line in path.read_text().splitlines() if line.strip())
