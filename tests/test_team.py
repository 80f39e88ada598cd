"""Working as a team: clones of one git origin share data, models and the run-cache through a DVC remote."""

import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.project import attempt, dvc, git, stages_run
from tests.team import EXPERIMENT, clone, remote

GRID = {"train@basic-0.01-8-42", "train@basic-0.001-8-42", "train@residual-0.01-8-42", "train@residual-0.001-8-42"}
AFTER_GRID = {
    "selection",
    "dropout@basic-0.5-42",
    "dropout@residual-0.5-42",
    "finetune@A-42",
    "finetune@B-42",
    "evaluate",
    "report",
}


@pytest.mark.slow
def test_a_grid_split_over_two_machines_trains_each_run_once_and_the_third_trains_none(sweep):
    trained = Counter(stage for stages in sweep.values() for stage in stages if stage.startswith("train@"))
    assert trained == Counter(GRID), "every grid run trained exactly once across the three clones"
    assert {stage for stage in sweep["alice"] if stage.startswith("train@")} == {s for s in GRID if "basic" in s}
    assert AFTER_GRID <= sweep["carol"]


@pytest.mark.slow
def test_a_fresh_clone_after_pull_is_up_to_date_and_reproduces_nothing(team, sweep):
    dave = clone(team, "dave")
    remote(dave, "pull")
    assert dvc(dave, "status").strip().endswith("Data and pipelines are up to date.")
    assert stages_run(dvc(dave, "repro")) == set()
    assert (dave / "models/grid/residual_lr0.01_bs8_seed42.pt").is_file()


@pytest.mark.slow
def test_an_experiment_a_teammate_ran_travels_and_is_restored_instead_of_retrained(team, experiment):
    carol = team / "carol"
    assert experiment == {"finetune@A-42", "finetune@B-42"}
    dvc(carol, "exp", "push", "origin", EXPERIMENT)
    remote(carol, "push")
    erin = clone(team, "erin")
    remote(erin, "pull")
    dvc(erin, "exp", "pull", "origin", EXPERIMENT)
    assert EXPERIMENT in dvc(erin, "exp", "list")
    output = dvc(erin, "exp", "run", "--pull", "-S", "finetune.lr=0.001", "finetune")
    assert stages_run(output) == set(), "restored from the run-cache carol pushed, not trained"
    assert "Stage 'finetune@A-42' is cached - skipping run, checking out outputs" in output


def failure(project: Path, direction: str) -> str:
    result = attempt(project, sys.executable, "scripts/remote.py", direction)
    assert result.returncode == 2, result.stdout + result.stderr
    return result.stderr


@pytest.mark.slow
def test_a_missing_empty_or_unreachable_remote_is_one_line_naming_it_and_changes_nothing(team):
    frank = clone(team, "frank", store="missing")
    before = git(frank, "status", "--porcelain", "--untracked-files=all")
    missing = failure(frank, "pull")
    (team / "empty").mkdir()
    dvc(frank, "remote", "modify", "--local", "storage", "url", str(team / "empty"))
    empty = failure(frank, "pull")
    (team / "a_file").write_text("not a folder")
    dvc(frank, "remote", "modify", "--local", "storage", "url", str(team / "a_file" / "store"))
    unreachable = failure(frank, "push")
    for message, url, problem in [
        (missing, team / "missing", "does not exist"),
        (empty, team / "empty", "is empty"),
        (unreachable, team / "a_file" / "store", "cannot reach"),
    ]:
        assert message.startswith("error: ") and message.count("\n") == 1, message
        assert f"DVC remote 'storage' ({url})" in message and problem in message
        assert "make push" in message or "dvc remote modify" in message, "it says what to do"
    assert git(frank, "status", "--porcelain", "--untracked-files=all") == before
    assert not (team / "missing").exists() and list((team / "empty").iterdir()) == []
