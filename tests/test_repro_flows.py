"""`foodcnn repro` against `dvc repro` over the everyday flows: the differential test of foodcnn.repro.

A small study is built once. Before each flow, a copy is made equal to the reference (the copy that plain
`dvc repro` keeps), so a flow starts from the same state whatever happened before; the flow is done in both,
each brought up to date by its own driver (`dvc repro`; `foodcnn repro --jobs 3`, its commands side by side,
the harder case of its one code path), and the two are compared on every file but git's and DVC's temporary
ones: dvc.lock, every output's bytes, the cache and the run-cache entries written, and on `dvc status`.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.project import attempt, run, set_params, stages_run
from tests.study import copy_study

DRIVERS = {
    "dvc repro": ("-m", "dvc", "repro"),
    "foodcnn repro -j3": ("-m", "foodcnn", "repro", "--jobs", "3"),
}
REFERENCE = "dvc repro"
LEFT_OUT = {".git", "tmp", "__pycache__"}  # git's files, DVC's locks and index (.dvc/tmp), bytecode


def snapshot(root: Path, excluded: str = "") -> dict[str, str]:
    """Every file's sha256 by path, the cache's and run-cache's included; paths under `excluded` left out."""
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if (
            path.is_file()
            and not LEFT_OUT & set(relative.parts)
            and not (excluded and relative.is_relative_to(excluded))
        ):
            files[relative.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def status(root: Path, excluded: str = "") -> dict:
    """`dvc status --json`, without what it says of the outputs under `excluded`."""
    found = json.loads(run(root, sys.executable, "-m", "dvc", "status", "--json").strip().splitlines()[-1])
    for stage, changes in found.items():
        found[stage] = [
            change for change in changes if not (excluded and set(change.get("changed outs", {})) == {excluded})
        ]
    return found


def differences(left: dict[str, str], right: dict[str, str]) -> list[str]:
    return sorted(path for path in left.keys() | right.keys() if left.get(path) != right.get(path))


def workspace(files: dict[str, str]) -> dict[str, str]:
    """The outputs and dvc.lock of a snapshot: not DVC's cache and run-cache, which only grow, nor params.yaml,
    whose keys a change and its undoing may leave in another order."""
    return {path: digest for path, digest in files.items() if not path.startswith(".dvc/") and path != "params.yaml"}


@pytest.fixture(scope="module")
def copies(small_study, tmp_path_factory) -> dict[str, Path]:
    """One folder per driver; the reference holds the small study, built and committed (tests/study.py)."""
    root = tmp_path_factory.mktemp("flows")
    reference = copy_study(small_study.folder, root / "reference")
    return {name: reference if name == REFERENCE else root / name.replace(" ", "_") for name in DRIVERS}


def flow(copies: dict[str, Path], change: Callable[[Path], None], succeeds: bool = True) -> dict[str, str]:
    """Make the copies equal to the reference, change each the same way, bring each up to date with its driver,
    the two side by side; returns each driver's output."""
    for name, root in copies.items():
        if name != REFERENCE:
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(copies[REFERENCE], root, symlinks=True)
    for root in copies.values():
        change(root)
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    logs = {name: root.with_name(f"{root.name}.log") for name, root in copies.items()}  # pipes could fill up
    drivers = {}
    for name, root in copies.items():
        with logs[name].open("w") as log:
            drivers[name] = subprocess.Popen(
                [sys.executable, *DRIVERS[name]], cwd=root, env=environment, stdout=log, stderr=subprocess.STDOUT
            )
    outputs = {}
    for name, driver in drivers.items():
        driver.wait()
        outputs[name] = logs[name].read_text()
        assert (driver.returncode == 0) == succeeds, f"{name}:\n{outputs[name]}"
    return outputs


def assert_same(copies: dict[str, Path], excluded: str = "") -> dict[str, str]:
    """Every driver left the reference's files and `dvc status` (but for what concerns the `excluded` path);
    returns the reference's snapshot."""
    expected = snapshot(copies[REFERENCE], excluded)
    expected_status = status(copies[REFERENCE], excluded)
    for name, root in copies.items():
        assert differences(snapshot(root, excluded), expected) == [], f"{name} left other files than dvc repro"
        assert status(root, excluded) == expected_status, name
    return expected


def params_change(update: dict) -> Callable[[Path], None]:
    return lambda root: set_params(root, update)


def ran(outputs: dict[str, str]) -> set[str]:
    stages = {name: stages_run(output) for name, output in outputs.items()}
    assert all(names == stages[REFERENCE] for names in stages.values()), stages
    return stages[REFERENCE]


def epochs_trained(root: Path, history: str) -> int:
    return len((root / "plots/history" / history).read_text().splitlines()) - 1  # a header, then a row an epoch


@pytest.mark.slow
def test_a_parameter_the_grid_reads_retrains_and_changed_back_the_run_cache_gives_the_first_runs_bytes(copies):
    before = snapshot(copies[REFERENCE])
    outputs = flow(copies, params_change({"train": {"epochs": 2}}))
    assert {"train@basic-0.01-8-42", "dropout@basic-0.5-42", "evaluate"} <= ran(outputs)
    assert_same(copies)
    for root in copies.values():  # the flow that restored the 1-epoch models under epochs 2 (issue of ea58acc)
        assert epochs_trained(root, "grid/basic_lr0.01_bs8_seed42.tsv") == 2
        assert epochs_trained(root, "dropout/basic_dropout0.5_seed42.tsv") == 2
    outputs = flow(copies, params_change({"train": {"epochs": 1}}))
    assert ran(outputs) == {"params", "report"}  # the rest comes back from the run-cache
    assert "Stage 'train@basic-0.01-8-42' restored the run of threads=1" in outputs["foodcnn repro -j3"]
    after = assert_same(copies)
    assert differences(workspace(after), workspace(before)) == [], "restored from the run-cache, not as it ran"


@pytest.mark.slow
def test_a_parameter_only_the_dropout_runs_read_renames_their_stages(copies):
    outputs = flow(copies, params_change({"dropout": {"p": [0.3]}}))
    assert ran(outputs) == {"params", "dropout@basic-0.3-42", "evaluate", "report", "publish", "export"}
    assert_same(copies)
    outputs = flow(copies, params_change({"dropout": {"p": [0.5]}}))
    assert "dropout@basic-0.5-42" not in ran(outputs)  # its run comes back from the run-cache
    assert_same(copies)


@pytest.mark.slow
def test_a_grid_value_added_then_removed(copies):
    outputs = flow(copies, params_change({"grid": {"lr": [0.01, 0.001]}}))
    assert {"train@basic-0.001-8-42", "selection"} <= ran(outputs)
    assert "train@basic-0.01-8-42" not in ran(outputs)
    assert_same(copies)
    flow(copies, params_change({"grid": {"lr": [0.01]}}))
    assert_same(copies)


@pytest.mark.slow
def test_an_edited_module_reruns_the_stages_that_import_it(copies):
    def edit(root: Path) -> None:
        module = root / "src/foodcnn/selection.py"
        module.write_text(module.read_text() + "# edited\n")

    outputs = flow(copies, edit)
    assert ran(outputs) == {"selection", "evaluate", "report", "publish", "export"}  # publish chooses with selection
    assert_same(copies)


@pytest.mark.slow
def test_a_changed_data_file_and_a_deleted_output_come_back_from_the_cache(copies):
    def damage(root: Path) -> None:
        photo = sorted((root / "data/raw").rglob("*.jpg"))[0]
        photo.write_bytes(photo.read_bytes()[:100])
        next((root / "models/dropout").glob("*.pt")).unlink()

    before = snapshot(copies[REFERENCE])
    outputs = flow(copies, damage)
    assert ran(outputs) == set()
    assert differences(workspace(assert_same(copies)), workspace(before)) == []


@pytest.mark.slow
def test_a_deleted_dvc_lock_takes_every_cached_stage_from_the_run_cache(copies):
    before = snapshot(copies[REFERENCE])
    locked = yaml.safe_load((copies[REFERENCE] / "dvc.lock").read_text())
    outputs = flow(copies, lambda root: (root / "dvc.lock").unlink())
    assert ran(outputs) == {"params", "split", "report"}  # no outs, or outs with cache: false: no run-cache
    after = workspace(assert_same(copies))
    assert differences(after, workspace(before)) == ["dvc.lock"]  # without the copied study's leftover stages
    recorded = yaml.safe_load((copies[REFERENCE] / "dvc.lock").read_text())["stages"]
    assert recorded == {name: locked["stages"][name] for name in recorded}


@pytest.mark.slow
def test_a_failing_command_half_way_records_what_ran_and_the_next_run_finishes_alike(copies):
    def break_report(root: Path) -> None:
        set_params(root, {"evaluate": {"bootstrap_resamples": 500}})
        entry = root / "stages/report.py"
        entry.write_text("raise SystemExit('broken')\n" + entry.read_text())

    report = {name: snapshot(root / "reports") for name, root in copies.items()}
    flow(copies, break_report, succeeds=False)
    # The one departure: dvc repro deletes a stage's outputs before its command; foodcnn repro keeps them.
    assert_same(copies, excluded="reports")
    for name, root in copies.items():
        if name != REFERENCE:
            assert snapshot(root / "reports") == report[name], f"{name} lost the last report"
    assert yaml.safe_load((copies[REFERENCE] / "dvc.lock").read_text())["stages"]["evaluate"]["params"]["params.yaml"][
        "evaluate"
    ] == {"bootstrap_resamples": 500}

    def mend(root: Path) -> None:
        entry = root / "stages/report.py"
        entry.write_text(entry.read_text().removeprefix("raise SystemExit('broken')\n"))

    outputs = flow(copies, mend)
    assert ran(outputs) == {"report"}
    assert_same(copies)


POISON = """
from dvc.repo import Repo

with Repo() as repo:  # what foodcnn repro did from 62ab999 to ea58acc: deps saved before the run-cache lookup
    stage = next(stage for stage in repo.index.stages if stage.addressing == "train@basic-0.01-8-42")
    stage.save_deps()
    repo.stage_cache.restore(stage, dry=True)
    stage.save()  # the run-cache entry of the new parameters, with the old outputs
"""


@pytest.mark.slow
def test_make_verify_names_the_run_cache_entry_an_old_driver_poisoned_and_its_cure(copies):
    reference = copies[REFERENCE]
    verify = (sys.executable, "scripts/verify.py")
    checked = re.search(r"checked \d+ run-cache entries", run(reference, *verify)).group()
    set_params(reference, {"train": {"epochs": 3}})
    run(reference, sys.executable, "-c", POISON)
    run(reference, "git", "checkout", "params.yaml")
    poisoned = attempt(reference, *verify)
    assert poisoned.returncode == 2, poisoned
    line = next(line for line in poisoned.stdout.splitlines() if line.startswith("poisoned run-cache entry"))
    assert "its epochs is 3 but models/grid/basic_lr0.01_bs8_seed42.pt was trained with 1" in line
    entry = re.search(r"`rm (\S+)`", line).group(1)
    (reference / entry).unlink()
    assert checked in run(reference, *verify)
