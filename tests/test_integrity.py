"""Cache integrity: a corrupt object is found by `make verify`, never pushed, and replaced by `make pull`."""

import hashlib
import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from foodcnn import integrity
from tests.conftest import REPO
from tests.project import attempt, dvc, git, run
from tests.study import copy_study

STAGE = "train@basic-0.01-8-42"
MODEL = "models/grid/basic_lr0.01_bs8_seed42.pt"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def locked_md5(project: Path, path: str) -> str:
    stages = yaml.safe_load((project / "dvc.lock").read_text())["stages"]
    return next(out["md5"] for record in stages.values() for out in record.get("outs", []) if out["path"] == path)


def cache_object(project: Path, value: str) -> Path:
    return project / ".dvc/cache/files/md5" / value[:2] / value[2:]


def flip(path: Path, count: int = 400) -> None:
    """Invert count bytes in the middle of a file, as a failing disk would: its read-only mode stays.

    DVC re-hashes a local object only when it is not read-only (and then deletes it quietly if corrupt), so
    a writable corrupt object would test DVC, not the project.
    """
    mode = path.stat().st_mode
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + count] = bytes(255 - byte for byte in data[middle : middle + count])
    path.write_bytes(bytes(data))
    path.chmod(mode)


def script(project: Path, *arguments: str):
    return attempt(project, sys.executable, *arguments)


def point(project: Path, store: Path) -> None:
    dvc(project, "remote", "modify", "--local", "storage", "url", str(store))


def stored_files(store: Path) -> list[Path]:
    return [path for path in store.rglob("*") if path.is_file()]


@pytest.fixture(scope="module")
def trained(tiny_study, tmp_path_factory) -> Path:
    """The tiny study run and committed (tests/study.py), and pushed to its `good` remote. Its dvc.lock also holds
    the committed default study's entries, as a clone's does after running the tiny study (DVC keeps the entries
    of stages dvc.yaml no longer has): the last test."""
    root = tmp_path_factory.mktemp("integrity")
    project = copy_study(tiny_study.folder, root / "alice")
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    lock["stages"] = yaml.safe_load((REPO / "dvc.lock").read_text())["stages"] | lock["stages"]
    (project / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
    git(project, "commit", "-q", "-am", "the default study's entries kept")
    point(project, root / "good")
    run(project, sys.executable, "scripts/remote.py", "push")
    return project


def test_a_corrupt_cache_object_is_reported_refused_by_push_and_replaced_by_pull(trained):
    good = cache_object(trained, locked_md5(trained, MODEL)).read_bytes()
    assert run(trained, sys.executable, "scripts/verify.py").count("corrupt") == 0
    corrupt = cache_object(trained, locked_md5(trained, MODEL))
    flip(corrupt)
    (trained / MODEL).unlink()

    found = script(trained, "scripts/verify.py")
    assert found.returncode == 2, found.stdout + found.stderr
    lines = [line for line in found.stdout.splitlines() if line.startswith("corrupt:")]
    assert len(lines) == 1, found.stdout
    assert str(corrupt.relative_to(trained)) in lines[0] and MODEL in lines[0]
    assert f"md5 {md5(corrupt.read_bytes())}, expected {md5(good)}" in lines[0]
    assert "make pull" in lines[0] and f"dvc repro -f {STAGE}" in lines[0]
    assert found.stderr.startswith("error: 1 corrupt") and found.stderr.count("\n") == 1, found.stderr

    fresh = trained.parent / "fresh"
    point(trained, fresh)
    refused = script(trained, "scripts/remote.py", "push")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.splitlines()[-1].startswith("error: 1 cache objects do not match their md5")
    assert f"DVC remote 'storage' ({fresh})" in refused.stderr and MODEL in refused.stderr
    assert stored_files(fresh) == [], "nothing at all was sent, the good objects neither"

    point(trained, trained.parent / "good")
    run(trained, sys.executable, "scripts/remote.py", "pull")
    assert (trained / MODEL).read_bytes() == good and corrupt.read_bytes() == good
    assert "corrupt" not in run(trained, sys.executable, "scripts/verify.py")


def test_pull_deletes_an_object_the_remote_sent_corrupt_and_checks_nothing_out(trained):
    poisoned = trained.parent / "poisoned"
    shutil.copytree(trained.parent / "good", poisoned)
    value = locked_md5(trained, MODEL)
    flip(poisoned / "files/md5" / value[:2] / value[2:])
    git(trained.parent, "clone", "-q", str(trained), "bob")
    bob = trained.parent / "bob"
    point(bob, poisoned)
    failed = script(bob, "scripts/remote.py", "pull")
    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert failed.stderr.splitlines()[-1].startswith("error: 1 objects from DVC remote 'storage'")
    assert MODEL in failed.stderr and f"expected {value}" in failed.stderr
    assert not cache_object(bob, value).exists() and not (bob / MODEL).exists()


def test_verify_names_a_workspace_copy_that_differs_from_dvc_lock(trained):
    history = "plots/history/grid/basic_lr0.01_bs8_seed42.tsv"
    saved = (trained / history).read_text()
    (trained / history).write_text(saved + "1\t0\t0\t0\t0\n")
    try:
        found = script(trained, "scripts/verify.py")
    finally:
        (trained / history).write_text(saved)
    assert found.returncode == 2
    [line] = [line for line in found.stdout.splitlines() if line.startswith("corrupt:")]
    assert line.startswith(f"corrupt: {history}: md5 ") and f"expected {locked_md5(trained, history)}" in line
    assert f"git checkout -- {history}" in line and f"dvc checkout --force {history}" in line


def test_a_file_inside_a_cached_directory_is_checked_against_its_manifest(tmp_path):
    cache = tmp_path / "cache"
    files = {"a.txt": b"apple", "b/c.txt": b"cherry"}
    for content in files.values():
        (path := integrity.object_path(cache, md5(content))).parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    listing = json.dumps([{"md5": md5(content), "relpath": name} for name, content in files.items()]).encode()
    directory = integrity.Expected(md5(listing) + ".dir", "data/raw", "images")
    (path := integrity.object_path(cache, directory.md5)).parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(listing)
    report = integrity.check_cache(cache, [directory])
    assert (report.checked, report.absent, report.mismatches) == (3, 0, [])
    integrity.object_path(cache, md5(b"cherry")).write_bytes(b"cherrz")
    [mismatch] = integrity.check_cache(cache, [directory]).mismatches
    assert mismatch.expected.path == "data/raw/b/c.txt" and mismatch.actual == md5(b"cherrz")
    assert "dvc repro -f images" in mismatch.line()


def test_a_remote_url_that_is_a_file_is_one_line_naming_it_for_pull_and_push(trained, tmp_path):
    git(tmp_path, "clone", "-q", str(trained), "carol")
    carol = tmp_path / "carol"
    (tmp_path / "a_file").write_text("not a folder")
    point(carol, tmp_path / "a_file")
    for direction in ("pull", "push"):
        result = script(carol, "scripts/remote.py", direction)
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith(f"error: DVC remote 'storage' ({tmp_path / 'a_file'}) is a file, not a folder")
        assert "dvc remote modify --local storage url" in result.stderr
    assert (tmp_path / "a_file").read_text() == "not a folder"


def test_verify_finds_every_object_of_a_study_built_here_and_counts_none_of_gits_outputs_as_absent(trained):
    """dvc.lock's `cache: false` outputs (the split files, the report) are git's, never in the cache, and the tiny
    study's dvc.lock keeps the entries of the default grid's stages, which DVC ignores: none is 'not here'."""
    found = run(trained, sys.executable, "scripts/verify.py")
    assert "; 0 objects and 0 files are not here" in found, found


def test_an_object_dvc_deleted_as_corrupt_is_named_by_verify_and_a_push_lacking_it_fails_naming_it(trained):
    value = locked_md5(trained, MODEL)
    corrupt = cache_object(trained, value)
    corrupt.chmod(0o644)  # as a copy or an editor leaves it: DVC re-hashes a writable object, and deletes it if bad
    data = bytearray(corrupt.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 4] = bytes(255 - byte for byte in data[len(data) // 2 : len(data) // 2 + 4])
    corrupt.write_bytes(bytes(data))
    assert "not in cache" in dvc(trained, "status") and not corrupt.exists(), "DVC deleted it, saying no more"

    found = script(trained, "scripts/verify.py")
    assert found.returncode == 2, found.stdout + found.stderr
    [line] = [line for line in found.stdout.splitlines() if line.startswith("missing:")]
    assert str(corrupt.relative_to(trained)) in line and MODEL in line and f"dvc commit -f {STAGE}" in line
    assert found.stderr == "error: 1 lost cache objects (listed above): restore each as its line says\n"

    fresh = trained.parent / "fresh-lacking"
    point(trained, fresh)
    try:
        refused = script(trained, "scripts/remote.py", "push")
    finally:
        point(trained, trained.parent / "good")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.splitlines()[-1].startswith(
        f"error: 1 outputs of this commit are in neither the local cache nor DVC remote 'storage' ({fresh})"
    )
    assert f"missing: {MODEL} (stage {STAGE})" in refused.stderr
    assert stored_files(fresh) == [], "nothing was sent"

    dvc(trained, "commit", "-f", STAGE)  # as the line says
    assert corrupt.is_file() and "missing:" not in run(trained, sys.executable, "scripts/verify.py")
