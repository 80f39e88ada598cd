"""The folder source: any directory of class sub-folders, copied file for file into data/raw."""

import shutil
from pathlib import Path

from foodcnn.data.reader import list_class_folders
from foodcnn.errors import DataError


def copy_folder(source: Path, raw: Path) -> dict[str, int]:
    """Copy every visible file of every visible class sub-folder; return the files copied per class.

    Files are copied, not decoded: unreadable ones reach the split stage, which reports each with its reason.
    """
    if not source.is_dir():
        raise DataError(f"data.folder.path: {source} is not a folder")
    folders = list_class_folders(source)
    if len(folders) < 2:
        raise DataError(f"data.folder.path: {source} needs at least 2 class sub-folders, found {len(folders)}")
    for label, files in folders.items():
        if not files:  # an empty folder would not survive the DVC cache, so it cannot reach the split
            raise DataError(f"class '{label}' in {source} has 0 files")
    _check_case_collisions(
        source, [*folders, *(file.relative_to(source).as_posix() for found in folders.values() for file in found)]
    )
    for label, files in folders.items():
        for file in files:
            target = raw / label / file.relative_to(source / label)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
    return {label: len(files) for label, files in folders.items()}


def _check_case_collisions(source: Path, names: list[str]) -> None:
    """Refuse two names that differ only in case (Pizza/ and pizza/): two classes here, but one folder on a
    case-insensitive filesystem (macOS and Windows by default), where a clone would merge them."""
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(name.casefold(), name)
        if other != name:
            raise DataError(
                f"data.folder.path: {other} and {name} in {source} differ only in case, which macOS and "
                f"Windows take for one name: rename or merge them"
            )
