"""The studies the end-to-end tests start from, each run once a test session: the tiny study, README's
experiment on it, the small study, and the small study at three seeds. Each test that needs one gets a copy.

A tiny `dvc repro` is 20 stage processes (about a minute of CPU): built by the first pytest-xdist worker that
asks, under a file lock in the folder the workers share, while any other that asks waits for it and takes it.
"""

import fcntl
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.project import TINY, copy_project, dvc, git, merge, set_params

# One from-scratch model, one learning rate, one fine-tune case (below): every kind of stage, as few commands as
# can be.
SMALL = merge(TINY, {"grid": {"model": ["basic"], "lr": [0.01], "batch_size": [8]}})


@dataclass(frozen=True)
class Built:
    folder: Path
    output: str  # what its last command printed


def built_once(factory: pytest.TempPathFactory, worker_id: str, name: str, build: Callable[[Path], str]) -> Built:
    """The folder `name` that `build` fills (returning what it printed), built once for all workers: a build that
    failed leaves no output file, and the next worker to ask builds it again."""
    shared = factory.getbasetemp() if worker_id == "master" else factory.getbasetemp().parent
    folder, output = shared / name, shared / f"{name}.output"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not output.exists():
            shutil.rmtree(folder, ignore_errors=True)
            output.write_text(build(folder))
    return Built(folder, output.read_text())


def copy_study(source: Path, destination: Path) -> Path:
    """A copy of a project DVC has run in, DVC's record of the outputs it placed included.

    DVC keeps that record outside the project, by the project's path and each file's inode, and `dvc checkout`
    (so `dvc exp run`) deletes a recorded file once no stage writes it: the copy's files are recorded as the
    original's are. The copy leaves out the original's locks (.dvc/tmp).
    """
    from dvc.repo import Repo

    shutil.copytree(
        source, destination, symlinks=True, ignore=lambda folder, _: ["tmp"] if folder.endswith(".dvc") else []
    )
    with Repo(str(source)) as original, original.state.links as links:
        placed = list(links)
    with Repo(str(destination)) as copy:
        for path in placed:
            copy.state.save_link(str(destination / path), copy.fs)
    return destination


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory, worker_id) -> Built:
    """TINY run with `dvc repro`, its results committed and tagged `sequential`; the output is the repro's."""

    def build(folder: Path) -> str:
        output = dvc(copy_project(folder, TINY), "repro")
        git(folder, "add", "-A")
        git(folder, "commit", "-q", "-m", "repro")
        git(folder, "tag", "sequential")
        return output

    return built_once(tmp_path_factory, worker_id, "tiny-study", build)


@pytest.fixture(scope="session")
def lr_experiment(tiny_study, tmp_path_factory, worker_id) -> Built:
    """README's `dvc exp run -S lr=0.01` on the committed tiny study, whose BasicCNN won the grid at another
    learning rate (0.001): its dropout model retrains at a new one. The output is the experiment's."""

    def build(folder: Path) -> str:
        return dvc(copy_study(tiny_study.folder, folder), "exp", "run", "-S", "lr=0.01")

    return built_once(tmp_path_factory, worker_id, "lr-experiment", build)


@pytest.fixture(scope="session")
def small_study(tmp_path_factory, worker_id) -> Built:
    """SMALL with fine-tune case A only, run with `dvc repro` and committed."""

    def build(folder: Path) -> str:
        copy_project(folder, SMALL)
        params = yaml.safe_load((folder / "params.yaml").read_text())
        params["finetune"]["cases"] = {"A": params["finetune"]["cases"]["A"]}
        (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        output = dvc(folder, "repro")
        git(folder, "add", "-A")
        git(folder, "commit", "-q", "-m", "study")
        return output

    return built_once(tmp_path_factory, worker_id, "small-study", build)


SEEDS = [42, 43, 44]


@pytest.fixture(scope="session")
def seeded_study(small_study, tmp_path_factory, worker_id) -> Built:
    """The small study with train.seeds SEEDS, run with `dvc repro` and committed: three trained models per role
    (the grid keeps grid.seeds). The output is the repro's."""

    def build(folder: Path) -> str:
        copy_study(small_study.folder, folder)
        set_params(folder, {"train": {"seeds": SEEDS}})
        output = dvc(folder, "repro")
        git(folder, "add", "-A")
        git(folder, "commit", "-q", "-m", f"seeds {SEEDS}")
        return output

    return built_once(tmp_path_factory, worker_id, "seeded-study", build)
