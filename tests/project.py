"""A copy of the project in a temporary git repository, and the commands the end-to-end tests run in it."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO

TINY = {
    "data": {"sample": {"images_per_class": 6, "image_size": 16}, "image_size": 16},
    "train": {"epochs": 1, "seeds": [42]},  # one trained model per role: the tests that need more add them
    "grid": {"lr": [0.01, 0.001], "batch_size": [8], "seeds": [42]},
    "dropout": {"p": [0.5]},
    "finetune": {"epochs": 1, "batch_size": 8},
}


def merge(base: dict, update: dict) -> dict:
    return {key: merge(base[key], value) if isinstance(value, dict) else value for key, value in update.items()} | {
        key: value for key, value in base.items() if key not in update
    }


def attempt(project: Path, *command: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(command, cwd=project, env=environment, capture_output=True, text=True)


def run(project: Path, *command: str) -> str:
    result = attempt(project, *command)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def dvc(project: Path, *arguments: str) -> str:
    return run(project, sys.executable, "-m", "dvc", *arguments)


def git(project: Path, *arguments: str) -> str:
    return run(project, "git", "-c", "user.name=test", "-c", "user.email=test@example.com", *arguments)


def stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def set_params(project: Path, update: dict) -> None:
    path = project / "params.yaml"
    path.write_text(yaml.safe_dump(merge(yaml.safe_load(path.read_text()), update), sort_keys=False))


def copy_project(root: Path, update: dict, keep_lock: bool = False) -> Path:
    """A git repository holding the project's files (tracked or not ignored), with params updated.

    Without the committed dvc.lock unless keep_lock: it records the default study, whose entries no stage of
    the tests' small studies matches, and DVC parses the whole file again for each stage it checks or runs
    (0.5 s a parse at 150 KB): with it, a tiny `dvc repro` took a third more CPU.
    """
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file() and (keep_lock or name != "dvc.lock"):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    set_params(root, update)
    run(root, "git", "init", "-q")
    git(root, "commit", "-q", "--allow-empty", "-m", "tiny")
    return root
