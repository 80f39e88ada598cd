"""Re-hash DVC's cache objects and the workspace's outputs against the md5 that names them.

DVC 3.67 trusts its cache: nothing re-hashes an object on checkout, status or push, so a flipped byte in
`.dvc/cache` is restored into the workspace, reported up to date and pushed under the good hash. DVC's "md5"
hash is the md5 of a file's bytes, and a directory's is the md5 of its `.dir` manifest (a JSON list of
relpath and md5 per file), stored in the cache like any object: so each object's name is its own check.
"""

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from dvc.repo import Repo

from foodcnn.errors import FoodCnnError, IntegrityError

DIR_SUFFIX = ".dir"


@dataclass(frozen=True)
class Expected:
    """A file that must hash to md5: an output (or a file inside one) that dvc.lock or the run-cache records."""

    md5: str
    path: str
    stage: str | None  # the dvc.lock stage that writes it; None for what only the run-cache records


@dataclass(frozen=True)
class Mismatch:
    """A file whose bytes do not hash to the md5 that names it: a cache object or a workspace copy."""

    file: Path
    expected: Expected
    actual: str
    in_cache: bool

    def line(self) -> str:
        """One line: the file, what it holds, actual vs expected md5 and how to restore it."""
        rerun = f"`dvc repro -f {self.expected.stage}`" if self.expected.stage else "its stage"
        what = f"cache object {self.file} of {self.expected.path}" if self.in_cache else f"{self.file}"
        # DVC never replaces an object its cache holds: pull and repro only restore it once it is deleted.
        restore = (
            "`make pull` (it replaces corrupt objects), or delete it and run " + rerun
            if self.in_cache
            else f"`git checkout -- {self.file}` if git tracks it, else `dvc checkout --force {self.file}`; or {rerun}"
        )
        return f"corrupt: {what}: md5 {self.actual}, expected {self.expected.md5}; restore with {restore}"


@dataclass
class Report:
    """What a check found: files re-hashed (and their bytes), expected files not there, mismatches."""

    checked: int = 0
    size: int = 0
    missing: list[Expected] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def absent(self) -> int:
        return len(self.missing)


def file_md5(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "md5").hexdigest()


def object_path(cache: Path, md5: str) -> Path:
    """Where DVC 3 keeps an object in its md5 cache (.dvc/cache/files/md5): <first two hex digits>/<the rest>."""
    return cache / md5[:2] / md5[2:]


def outputs(record: dict, stage: str | None) -> Iterator[Expected]:
    """The md5-hashed outputs of one dvc.lock stage or run-cache entry (DVC 2's md5-dos2unix ones are not ours)."""
    for out in record.get("outs", []):
        if out.get("hash") == "md5" and "md5" in out:
            yield Expected(out["md5"], out["path"], stage)


def pipeline_outputs(repo: Repo) -> tuple[list[Expected], list[Expected]]:
    """The outputs dvc.lock records for the stages dvc.yaml has now: those in DVC's cache, and those git keeps
    (`cache: false`), which are in the cache only when the run-cache saved them. dvc.lock may still hold the
    entries of stages that dvc.yaml no longer makes; DVC ignores those, and so does this."""
    from dvc.exceptions import DvcException

    try:
        stages = repo.index.stages
    except DvcException as error:  # dvc.yaml or params.yaml that DVC cannot read: its own words, in one line
        raise FoodCnnError(f"cannot read the pipeline's outputs: {error}") from error
    cached: list[Expected] = []
    in_git: list[Expected] = []
    for stage in stages:
        for out in stage.outs:
            if out.hash_info.name == "md5" and out.hash_info.value:
                expected = Expected(out.hash_info.value, out.def_path, stage.addressing)
                (cached if out.use_cache else in_git).append(expected)
    return cached, in_git


def lock_outputs(lock: Path) -> list[Expected]:
    """Every output dvc.lock names, with the stage that writes it; none when there is no dvc.lock yet."""
    if not lock.is_file():
        return []
    stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
    return [expected for name, record in stages.items() for expected in outputs(record, name)]


def run_cache_outputs(runs: Path) -> list[Expected]:
    """Every output the local run-cache records: what `make push` sends beside dvc.lock's outputs."""
    return [
        expected
        for entry in sorted(runs.glob("*/*/*"))
        if entry.is_file()
        for expected in outputs(yaml.safe_load(entry.read_text()) or {}, None)
    ]


def manifest(path: Path, directory: Expected) -> list[Expected]:
    """The files a `.dir` object lists, as outputs of the directory's stage."""
    return [
        Expected(entry["md5"], f"{directory.path}/{entry['relpath']}", directory.stage)
        for entry in json.loads(path.read_bytes())
    ]


def check_object(cache: Path, expected: Expected, report: Report) -> list[Expected]:
    """Re-hash one cache object; return the files it lists when it is a good `.dir` manifest."""
    path = object_path(cache, expected.md5)
    if not path.is_file():
        report.missing.append(expected)
        return []
    report.checked += 1
    report.size += path.stat().st_size
    actual = file_md5(path)
    if actual != expected.md5.removesuffix(DIR_SUFFIX):
        report.mismatches.append(Mismatch(path, expected, actual, in_cache=True))
        return []
    return manifest(path, expected) if expected.md5.endswith(DIR_SUFFIX) else []


def check_cache(cache: Path, expected: Iterable[Expected]) -> Report:
    """Re-hash each distinct cache object named, and the files of each good directory manifest among them."""
    report, seen, pending = Report(), set(), list(expected)
    while pending:
        item = pending.pop()
        if item.md5 not in seen:
            seen.add(item.md5)
            pending.extend(check_object(cache, item, report))
    return report


def workspace_files(cache: Path, expected: Expected) -> list[Expected]:
    """An output's files as its md5 says: itself, or a directory's files when its manifest is cached and good."""
    if not expected.md5.endswith(DIR_SUFFIX):
        return [expected]
    path = object_path(cache, expected.md5)
    if not path.is_file() or file_md5(path) != expected.md5.removesuffix(DIR_SUFFIX):
        return []  # the cache check reports it; without a manifest there is nothing to compare the files with
    return manifest(path, expected)


def check_workspace(root: Path, cache: Path, expected: Iterable[Expected]) -> Report:
    """Re-hash the workspace's copy of each output named (a missing copy is absent, not corrupt)."""
    report = Report()
    for item in (file for output in expected for file in workspace_files(cache, output)):
        path = root / item.path
        if not path.is_file():
            report.missing.append(item)
            continue
        report.checked += 1
        actual = file_md5(path)
        if actual != item.md5:
            report.mismatches.append(Mismatch(Path(item.path), item, actual, in_cache=False))
    return report


def remove(mismatches: Iterable[Mismatch]) -> None:
    """Delete corrupt cache objects: DVC never replaces an object its cache already has, so pull would skip it."""
    for mismatch in mismatches:
        mismatch.file.unlink(missing_ok=True)


def objects(cache: Path) -> set[Path]:
    """Every object file in the cache."""
    return set(cache.glob("*/*"))


def labels(cache: Path, expected: Iterable[Expected]) -> dict[str, Expected]:
    """md5 -> what it holds, for the outputs named and the files of their cached manifests (read, not checked)."""
    known: dict[str, Expected] = {}
    for item in expected:
        known.setdefault(item.md5, item)
        path = object_path(cache, item.md5)
        if item.md5.endswith(DIR_SUFFIX) and path.is_file():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                known.update({entry.md5: entry for entry in manifest(path, item)})
    return known


def check_arrived(cache: Path, before: set[Path], expected: Iterable[Expected]) -> Report:
    """Re-hash the objects that are new since `before` (what a fetch downloaded), each against its own name."""
    known, report = labels(cache, expected), Report()
    for path in sorted(objects(cache) - before):
        md5 = path.parent.name + path.name
        check_object(cache, known.get(md5, Expected(md5, "an object the remote sent", None)), report)
    return report


def locations(repo: Repo) -> tuple[Path, Path, Path]:
    """The repository root, DVC's object cache and its run-cache folder, relative to here when inside."""
    found = repo.root_dir, repo.cache.local.path, repo.stage_cache.cache_dir
    root, cache, run_cache = (
        Path(os.path.relpath(path)) if Path(path).is_relative_to(Path.cwd()) else Path(path) for path in found
    )
    return root, cache, run_cache


def intact_in_workspace(root: Path, missing: Iterable[Expected]) -> list[Expected]:
    """The files among those missing from the cache whose workspace copy is here and matches its md5."""
    return [item for item in missing if (root / item.path).is_file() and file_md5(root / item.path) == item.md5]


def lost_line(cache: Path, item: Expected) -> str:
    """One line for a cache object that is gone while its output is still in the workspace, intact."""
    return (
        f"missing: cache object {object_path(cache, item.md5)} of {item.path}: the workspace copy matches "
        f"dvc.lock but the cache lacks it (DVC deletes a writable cache object it finds corrupt, and `dvc status` "
        f"then says 'not in cache'; `make push` cannot send it); put it back with `dvc commit -f {item.stage}`"
    )


def verify() -> None:
    """`make verify`: re-hash the cache objects and workspace outputs dvc.lock names, one line per corrupt one and
    per object the cache lost; objects of outputs that are not here either are only counted (`make pull`)."""
    with Repo() as repo:
        root, cache, _ = locations(repo)
        cached, in_git = pipeline_outputs(repo)
    stored, workspace = check_cache(cache, cached), check_workspace(root, cache, cached + in_git)
    mismatches = stored.mismatches + workspace.mismatches
    lost = intact_in_workspace(root, stored.missing)
    for mismatch in mismatches:
        print(mismatch.line())
    for item in lost:
        print(lost_line(cache, item))
    print(
        f"re-hashed {stored.checked} cache objects and {workspace.checked} workspace files that dvc.lock names "
        f"({len(in_git)} outputs are git's, `cache: false`, re-hashed in the workspace only); "
        f"{stored.absent - len(lost)} objects and {workspace.absent} files are not here (`make pull` fetches them)"
    )
    counts = [(len(mismatches), "corrupt files"), (len(lost), "lost cache objects")]
    found = [f"{count} {what}" for count, what in counts if count]
    if found:
        raise IntegrityError(f"{' and '.join(found)} (listed above): restore each as its line says")
