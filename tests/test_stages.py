"""The stage entry points run by hand: bad arguments and missing inputs end in one line, not a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

from foodcnn.errors import FoodCnnError
from foodcnn.layout import SELECTION, require
from foodcnn.params import load
from foodcnn.runs import dropout_run, finetune_run, grid_run
from tests.conftest import REPO

PARAMS = load(REPO / "params.yaml")
WINNERS = {"basic": {"lr": 0.01, "batch_size": 32}}


@pytest.mark.parametrize(("arguments", "message"), [
    (("nope", 0.01, 32, 42), "--model must be one of basic, residual, got 'nope'"),
    (("basic", 0.0, 32, 42), "--lr must be a number in (0, 10) (one of grid.lr), got 0.0"),
    (("basic", 0.01, 0, 42), "--batch-size must be an integer >= 1 (one of grid.batch_size), got 0"),
    (("basic", 0.01, 32, -1), "--seed must be an integer >= 0 (one of train.seeds), got -1"),
])
def test_a_grid_run_checks_its_arguments_by_the_rules_of_params_yaml(arguments, message):
    with pytest.raises(FoodCnnError, match=message.replace("(", r"\(").replace(")", r"\)")):
        grid_run(PARAMS, *arguments)


def test_dropout_and_finetune_runs_check_their_arguments():
    with pytest.raises(FoodCnnError, match="--p must be a number in"):
        dropout_run(PARAMS, "basic", 1.5, 42, WINNERS)
    with pytest.raises(FoodCnnError, match="no winner for 'residual': run `dvc repro selection` first"):
        dropout_run(PARAMS, "residual", 0.3, 42, WINNERS)
    with pytest.raises(FoodCnnError, match="--case must be one of finetune.cases: A, B, got 'C'"):
        finetune_run(PARAMS, "C", 42)


def test_a_missing_input_names_the_stage_to_run_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FoodCnnError, match=r"^metrics/selection.json is missing: run `dvc repro selection` first$"):
        require(SELECTION)
    with pytest.raises(FoodCnnError, match=r"^models/dropout/x.pt is missing: run `dvc repro dropout` first$"):
        require(Path("models/dropout/x.pt"))


@pytest.mark.parametrize(("script", "arguments", "message"), [
    ("train.py", ["--model", "nope", "--lr", "0.01", "--batch-size", "32", "--seed", "42"], "--model must be"),
    ("prepare.py", [], "error: data/raw is missing: run `dvc repro images` first"),
    ("evaluate.py", [], "error: metrics/selection.json is missing: run `dvc repro selection` first"),
])
def test_a_stage_run_too_early_or_with_bad_arguments_says_why_in_one_line(tmp_path, script, arguments, message):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    result = subprocess.run([sys.executable, str(REPO / "stages" / script), *arguments], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr
