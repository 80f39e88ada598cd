"""The team of tests/test_team.py and tests/test_remotes.py: one origin, one trained tiny study, one experiment.

Session fixtures (registered in conftest.py), so that the study trains once per test session and every kind
of remote shares it.
"""

import sys
from pathlib import Path

import pytest

from tests.project import TINY, copy_project, dvc, git, run, stages_run


@pytest.fixture(scope="session")
def team(tmp_path_factory) -> Path:
    """A folder with a bare git origin holding the tiny project; the DVC remote is its `store` folder."""
    root = tmp_path_factory.mktemp("team")
    project = copy_project(root / "start", TINY)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "tiny project")
    git(root, "init", "-q", "--bare", "--initial-branch=main", "origin.git")
    git(project, "push", "-q", str(root / "origin.git"), "HEAD:main")
    return root


def clone(team: Path, name: str, store: str = "store", branch: str = "main") -> Path:
    """A teammate's clone of origin, its default remote pointed at the team's store (not /tmp/dvcstore)."""
    git(team, "clone", "-q", "--branch", branch, "origin.git", name)
    dvc(team / name, "remote", "modify", "--local", "storage", "url", str(team / store))
    return team / name


def remote(project: Path, direction: str) -> str:
    """`make push` / `make pull` without make (the test already runs in the environment)."""
    return run(project, sys.executable, "scripts/remote.py", direction)


@pytest.fixture(scope="session")
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


EXPERIMENT = "slow-finetune"


@pytest.fixture(scope="session")
def experiment(team, sweep) -> set[str]:
    """Carol's experiment EXPERIMENT (the fine-tunes at another lr), run once: the stages it ran."""
    return stages_run(dvc(team / "carol", "exp", "run", "-n", EXPERIMENT, "-S", "finetune.lr=0.001", "finetune"))
