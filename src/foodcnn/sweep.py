"""Experiments side by side (`foodcnn exp run`, foodcnn.experiment says the steps of one): each in its own
workspace, reproduced by its own `foodcnn repro` process, one line per finished stage, a table at the end.

One experiment is made in the project's workspace, as `dvc exp run` makes it. A sweep's are each made in a git
worktree of the baseline (HEAD with the workspace's changes to tracked files, as `dvc exp run --queue` takes
them) under .dvc/tmp/foodcnn-exp, whose DVC cache and run-cache are the project's: a stage one experiment has
run comes back to the others from the run-cache, and the experiment's outputs are in the project's cache once
it is saved. A worktree shares git's refs with the project, so the experiment `dvc exp run` saves there is the
project's; `dvc exp run` keeps its own state in refs too (refs/exps/exec), so the saves take turns.

How the experiments share the machine is decided in one place, `share`.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from foodcnn.errors import FoodCnnError

Overrides = dict[str, list[str]]  # a params file -> its -S overrides, as DVC's to_path_overrides groups them

# What foodcnn.repro logs as a stage ends: its command's time, or the run-cache entry it restored.
RAN = re.compile(r"^Stage '(?P<stage>[^']+)' took (?P<seconds>[\d.]+) s$")
RESTORED = re.compile(r"^Stage '(?P<stage>[^']+)' restored the run of ")
ERROR = re.compile(r"^(error|ERROR): ")


@dataclass(frozen=True)
class Experiment:
    name: str
    overrides: Overrides
    changed: str  # the overrides as typed, for the table


@dataclass(frozen=True)
class Where:
    project: Path  # the workspace
    folder: Path  # the logs, and a sweep's workspaces
    cache: str  # the DVC cache (and run-cache) every workspace uses


@dataclass(frozen=True)
class Share:
    at_once: int  # experiments made side by side
    repro_options: tuple[str, ...]  # each one's `foodcnn repro` options


def share(experiments: int, jobs: int, scheduler: str | None) -> Share:
    """How the experiments share the machine, decided here only. Given a scheduler's address (a sweep's always
    has one: foodcnn.experiment starts a local cluster), every experiment's `foodcnn repro` hands its commands
    to that cluster, which places them, and up to `jobs` experiments are under way: the later ones start as
    others end, so that a stage two share has more often been saved in the run-cache than claimed by a run
    still under way (foodcnn.claims: the others wait for it). Without
    one, the `jobs` commands at once are divided among the experiments: never more than `jobs` in all."""
    if scheduler is not None:
        return Share(min(experiments, jobs), ("--scheduler", scheduler))
    at_once = min(experiments, jobs)
    return Share(at_once, ("--jobs", str(jobs // at_once)))


def values(experiment: Experiment) -> set[str]:
    return {f"{path}:{item}" for path, items in experiment.overrides.items() for item in items}


def spread(experiments: list[Experiment], at_once: int) -> list[Experiment]:
    """The order to start them in: each next as unlike the ones started just before it (at_once - 1 of them) as
    can be, the most values differing. Experiments side by side then share few stages, and a stage that two
    share has likely been run by the first, and saved in the run-cache, by the time the second comes to it."""
    pending, order = list(experiments), list[Experiment]()
    while pending:
        recent = order[len(order) - at_once + 1 :]
        chosen = max(pending, key=lambda each: sum(len(values(each) - values(other)) for other in recent))
        pending.remove(chosen)
        order.append(chosen)
    return order


class StepFailed(FoodCnnError):
    pass


class Progress:
    """One line per finished stage, experiment and time of day first; lines of experiments side by side."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def say(self, name: str, what: str) -> None:
        with self.lock:
            print(f"{time.strftime('%H:%M:%S')} {name}: {what}", flush=True)

    def watch(self, name: str) -> Callable[[str], None]:
        def seen(line: str) -> None:
            if ran := RAN.match(line):
                self.say(name, f"{ran['stage']} ran in {ran['seconds']} s")
            elif restored := RESTORED.match(line):
                self.say(name, f"{restored['stage']} restored from the run-cache")

        return seen


def step(root: Path, log: IO[str], arguments: list[str], watch: Callable[[str], None] | None = None) -> None:
    """`python -m ARGUMENTS` in the experiment's folder, its output into the log (and to `watch`, line by line);
    a failure raises with its last error line."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}  # lines as they come, for the progress
    lines = []
    with subprocess.Popen(
        [sys.executable, "-m", *arguments],
        cwd=root,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            lines.append(line.rstrip())
            if watch:
                watch(lines[-1])
    if process.returncode:
        errors = [line for line in lines if ERROR.match(line)] or [line for line in lines if line] or ["no output"]
        raise StepFailed(f"`{' '.join(arguments[:2])}` failed: {errors[-1]}")


def git(root: Path, *arguments: str, stdin: str | None = None) -> str:
    return subprocess.run(["git", *arguments], cwd=root, input=stdin, capture_output=True, text=True, check=True).stdout


def add_worktree(where: Where, name: str) -> Path:
    """A git worktree of the baseline, with the workspace's changes to tracked files and the project's DVC cache.
    Call it with the git lock held: worktrees are git's shared state."""
    from dvc.config import Config

    root = where.folder / name
    if root.exists():  # an interrupted run's
        shutil.rmtree(root)
    git(where.project, "worktree", "prune")
    git(where.project, "worktree", "add", "--quiet", "--detach", str(root), "HEAD")
    changes = git(where.project, "diff", "HEAD", "--binary")
    if changes:
        git(root, "apply", "--binary", stdin=changes)
    local = where.project / ".dvc" / "config.local"  # a remote's credentials, say
    if local.is_file():
        shutil.copyfile(local, root / ".dvc" / "config.local")
    with Config(dvc_dir=str(root / ".dvc"), validate=False).edit("local") as config:
        config["cache"]["dir"] = where.cache
    return root


def apply(root: Path, overrides: Overrides) -> None:
    """The -S values written into the params files, by DVC's function, as `dvc exp run` writes them."""
    from dvc.utils.hydra import apply_overrides

    for path, items in overrides.items():
        apply_overrides(root / path, items)


def accuracies(root: Path) -> dict[str, float]:
    """The study models' test accuracies: metrics/test.json's numbers (its nested macro-F1s left out)."""
    metrics = json.loads((root / "metrics" / "test.json").read_text())
    return {role: value for role, value in metrics.items() if isinstance(value, int | float)}


def table(made: dict[str, tuple[Experiment, dict[str, float]]]) -> str:
    """The saved experiments: name, what was changed, each model's test accuracy in %."""
    roles = list(dict.fromkeys(role for _, found in made.values() for role in found))
    lines = [
        "| experiment | changed | " + " | ".join(roles) + " |",
        "|---|---|" + "---:|" * len(roles),
    ]
    for name, (experiment, found) in made.items():
        cells = [f"{100 * found[role]:.1f}" if role in found else "" for role in roles]
        lines.append(f"| {name} | {experiment.changed or '(none)'} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def make_all(experiments: list[Experiment], where: Where, jobs: int, scheduler: str | None) -> None:
    """Make every experiment, as many side by side as `share` says; each takes its share of the machine as it
    starts, of the experiments not yet made (the last ones, alone, take it all). One that fails stops none of
    the others, and all that failed are named in one line at the end."""
    where.folder.mkdir(parents=True, exist_ok=True)
    progress = Progress()
    git_lock = threading.Lock()  # worktrees and experiment refs are shared by every workspace
    alone = len(experiments) == 1
    unmade = len(experiments)

    def make(experiment: Experiment) -> dict[str, float]:
        nonlocal unmade
        log_path = where.folder / f"{experiment.name}.log"
        with git_lock:
            root = where.project if alone else add_worktree(where, experiment.name)
            options = share(unmade, jobs, scheduler).repro_options
        try:
            apply(root, experiment.overrides)
            with log_path.open("w") as log:
                step(root, log, ["dvc", "checkout", "--force", "--allow-missing"])
                step(root, log, ["foodcnn", "repro", *options], progress.watch(experiment.name))
                with git_lock:
                    step(root, log, ["dvc", "exp", "run", "--name", experiment.name])
            return accuracies(root)
        except StepFailed as error:
            raise StepFailed(f"{experiment.name} ({error}; log {os.path.relpath(log_path)})") from error
        finally:
            with git_lock:
                unmade -= 1
                if not alone:
                    git(where.project, "worktree", "remove", "--force", str(root))

    made: dict[str, tuple[Experiment, dict[str, float]]] = {}
    failed: list[str] = []
    at_once = share(len(experiments), jobs, scheduler).at_once
    with ThreadPoolExecutor(max_workers=at_once) as pool:
        futures = {pool.submit(make, experiment): experiment for experiment in spread(experiments, at_once)}
        for future in as_completed(futures):
            experiment = futures[future]
            try:
                made[experiment.name] = (experiment, future.result())
                progress.say(experiment.name, "saved: `dvc exp show` lists it")
            except StepFailed as error:
                failed.append(str(error))
                progress.say(experiment.name, "failed")
    ordered = {e.name: made[e.name] for e in experiments if e.name in made}
    if ordered:
        print(table(ordered))
    if failed:
        raise FoodCnnError(f"{len(failed)} of {len(experiments)} experiments failed: {'; '.join(failed)}")
