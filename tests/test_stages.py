"""The stage entry points run by hand: bad arguments and missing inputs end in one line, not a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from foodcnn.errors import FoodCnnError
from foodcnn.layout import SELECTION, require
from foodcnn.params import load
from foodcnn.runs import dropout_run, finetune_run, grid_run, winner_run
from tests.conftest import REPO
from tests.project import attempt, copy_project, git, run

PARAMS = load(REPO / "params.yaml")
WINNERS = {"basic": {"lr": 0.01, "batch_size": 32}}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("nope", 0.01, 32, 42), "--model must be one of basic, residual, got 'nope'"),
        (("basic", 0.0, 32, 42), "--lr must be a number in (0, 10) (one of grid.lr), got 0.0"),
        (("basic", 0.01, 0, 42), "--batch-size must be an integer >= 1 (one of grid.batch_size), got 0"),
        (("basic", 0.01, 32, -1), "--seed must be an integer >= 0 (one of grid.seeds), got -1"),
    ],
)
def test_a_grid_run_checks_its_arguments_by_the_rules_of_params_yaml(arguments, message):
    with pytest.raises(FoodCnnError, match=message.replace("(", r"\(").replace(")", r"\)")):
        grid_run(PARAMS, *arguments)


def test_winner_dropout_and_finetune_runs_check_their_arguments():
    assert winner_run(PARAMS, "basic", 43, WINNERS).files.model.as_posix() == "models/winner/basic_winner_seed43.pt"
    with pytest.raises(FoodCnnError, match=r"--seed must be an integer >= 0 \(one of train.seeds\), got -1"):
        winner_run(PARAMS, "basic", -1, WINNERS)
    with pytest.raises(FoodCnnError, match="no winner for 'residual': run `dvc repro selection` first"):
        winner_run(PARAMS, "residual", 43, WINNERS)
    with pytest.raises(FoodCnnError, match="--p must be a number in"):
        dropout_run(PARAMS, "basic", 1.5, 42, WINNERS)
    with pytest.raises(FoodCnnError, match="no winner for 'residual': run `dvc repro selection` first"):
        dropout_run(PARAMS, "residual", 0.3, 42, WINNERS)
    with pytest.raises(FoodCnnError, match="--case must be one of finetune.cases: A, B, got 'C'"):
        finetune_run(PARAMS, "C", 42)


def test_a_missing_input_names_the_stage_to_run_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FoodCnnError, match=r"^results/selection.json is missing: run `dvc repro selection` first$"):
        require(SELECTION)
    with pytest.raises(FoodCnnError, match=r"^models/dropout/x.pt is missing: run `dvc repro dropout` first$"):
        require(Path("models/dropout/x.pt"))


@pytest.mark.parametrize(
    ("script", "arguments", "message"),
    [
        ("train.py", ["--model", "nope", "--lr", "0.01", "--batch-size", "32", "--seed", "42"], "--model must be"),
        ("prepare.py", [], "error: data/raw is missing: run `dvc repro images` first"),
        (
            "winner.py",
            ["--model", "basic", "--seed", "43"],
            "error: results/selection.json is missing: run `dvc repro selection` first",
        ),
        ("evaluate.py", [], "error: data/prepared/test.pt is missing: run `dvc repro prepare` first"),
    ],
)
def test_a_stage_run_too_early_or_with_bad_arguments_says_why_in_one_line(tmp_path, script, arguments, message):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    result = subprocess.run(
        [sys.executable, str(REPO / "stages" / script), *arguments], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr


def stage_commands(project: Path) -> dict[str, str]:
    """Each stage's command as dvc.yaml resolves it (a matrix stage's first item), in dvc.yaml order."""
    from dvc.repo import Repo

    with Repo(str(project)) as repo:
        commands: dict[str, str] = {}
        for stage in repo.index.stages:
            commands.setdefault(stage.name.split("@")[0], stage.cmd)
    return commands


@pytest.mark.slow
def test_every_stage_run_by_hand_on_a_fresh_clone_fails_in_one_line_and_changes_nothing(tmp_path):
    """A fresh clone has the committed results in git but no DVC-cached inputs: a stage run by hand before
    its inputs exist must say what is missing and leave every committed file as it was."""
    project = copy_project(tmp_path, {}, keep_lock=True)  # as a clone has it
    run(project, "git", "add", "-A")
    git(project, "commit", "-q", "-m", "a clone: results in git, nothing in the DVC cache")
    commands = stage_commands(project)
    # images needs no input from the sample source, and what it writes would be another stage's input.
    images = commands.pop("images")
    failed = set()
    for name, command in [*commands.items(), ("images", images)]:
        result = attempt(project, "sh", "-c", command)
        if result.returncode != 0:
            failed.add(name)
            assert result.returncode == 2 and result.stderr.strip().count("\n") == 0, f"{name}: {result.stderr}"
            assert "is missing: run `dvc repro" in result.stderr, f"{name}: {result.stderr}"
        assert run(project, "git", "status", "--porcelain") == "", f"{name} changed committed files"
    # selection's inputs, the learning curves, are in git; params, images and backbone (weights: none) have none.
    assert failed == set(commands) - {"params", "selection", "backbone"}


def test_a_failing_source_leaves_the_last_images_in_place(tmp_path):
    settings = yaml.safe_load((REPO / "params.yaml").read_text())
    settings["data"] |= {"source": "folder", "folder": {"path": "gone"}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(settings))
    (tmp_path / "data/raw/pizza").mkdir(parents=True)
    (tmp_path / "data/raw/pizza/last.jpg").write_bytes(b"the last good copy")
    result = subprocess.run(
        [sys.executable, str(REPO / "stages/images.py")], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 2 and result.stderr == "error: data.folder.path: gone is not a folder\n"
    assert (tmp_path / "data/raw/pizza/last.jpg").read_bytes() == b"the last good copy"
