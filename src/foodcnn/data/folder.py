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
        for file in files:
            target = raw / label / file.relative_to(source / label)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
    return {label: len(files) for label, files in folders.items()}
