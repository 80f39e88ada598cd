"""Working as a team: clones of one git origin share data, models and the run-cache through a DVC remote."""

import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.project import TINY, attempt, copy_project, dvc, git, run, stages_run

GRID = {"train@basic-0.01-8-42", "train@basic-0.001-8-42", "train@residual-0.01-8-42", "train@residual-0.001-8-42"}
AFTER_GRID = {"selection", "dropout@basic-0.5-42", "dropout@residual-0.5-42", "finetune@A-42", "finetune@B-42",
              "evaluate", "report"}


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Path:
    """A folder with a bare git origin holding the tiny project; the DVC remote is its `store` folder."""
    root = tmp_path_factory.mktemp("team")
    project = copy_project(root / "start", TINY)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "tiny project")
    git(root, "init", "-q", "--bare", "--initial-branch=main", "origin.git")
    git(project, "push", "-q", str(root / "origin.git"), "HEAD:main")
    return root


def clone(team: Path, name: str, store: str = "store") -> Path:
    """A teammate's clone of origin, its default remote pointed at the team's store (not /tmp/dvcstore)."""
    git(team, "clone", "-q", "origin.git", name)
    dvc(team / name, "remote", "modify", "--local", "storage", "url", str(team / store))
    return team / name


def remote(project: Path, direction: str) -> str:
    """`make push` / `make pull` without make (the test already runs in the environment)."""
    return run(project, sys.executable, "scripts/remote.py", direction)


@pytest.fixture(scope="module")
def sweep(team) -> dict[str, set[str]]:
    """The grid split over two machines, then a third that runs the rest and pushes the results to origin."""
    ran = {}
    for name, model in [("alice", "basic"), ("bob", "residual")]:
        machine = clone(team, name)
        ran[name] = stages_run(dvc(machine, "repro", "--pull", "--glob", f"train@{model}-*"))
        remote(machine, "push")
    carol = clone(team, "carol")
    ran["carol"] = stages_run(dvc(carol, "repro", "--pull"))
    git(carol, "add", "-A")
    git(carol, "commit", "-q", "-m", "the study")
    git(carol, "push", "-q", "origin", "HEAD:main")
    remote(carol, "push")
    return ran


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
def test_an_experiment_a_teammate_ran_travels_and_is_restored_instead_of_retrained(team, sweep):
    carol = team / "carol"
    finetunes = {"finetune@A-42", "finetune@B-42"}
    output = dvc(carol, "exp", "run", "-n", "slow-finetune", "-S", "finetune.lr=0.001", "finetune")
    assert stages_run(output) == finetunes
    dvc(carol, "exp", "push", "origin", "slow-finetune")
    remote(carol, "push")
    erin = clone(team, "erin")
    remote(erin, "pull")
    dvc(erin, "exp", "pull", "origin", "slow-finetune")
    assert "slow-finetune" in dvc(erin, "exp", "list")
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
    for message, url, problem in [(missing, team / "missing", "does not exist"), (empty, team / "empty", "is empty"),
                                  (unreachable, team / "a_file" / "store", "cannot reach")]:
        assert message.startswith("error: ") and message.count("\n") == 1, message
        assert f"DVC remote 'storage' ({url})" in message and problem in message
        assert "make push" in message or "dvc remote modify" in message, "it says what to do"
    assert git(frank, "status", "--porcelain", "--untracked-files=all") == before
    assert not (team / "missing").exists() and list((team / "empty").iterdir()) == []
