"""What a revision (a git revision, a `dvc exp` experiment or the workspace) says about each study model."""

import csv
import json
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

import yaml
from dvc.repo import Repo
from dvc.scm import RevError, resolve_rev

from foodcnn.errors import FoodCnnError
from foodcnn.layout import PREDICTIONS_DIR, SELECTION, TEST_RESULTS

WORKSPACE = "workspace"  # as `dvc exp show` names it
PARAMS = "params.yaml"
# Where a revision keeps the grid winners and each role's test results, in the same format either way: results/
# (DVC cache), or metrics/ (git) in revisions made before metrics/ held only the numbers `dvc exp show` lists.
SELECTION_FILES = (SELECTION, Path("metrics/selection.json"))
TEST_RESULTS_FILES = (TEST_RESULTS, Path("metrics/test.json"))


@dataclass(frozen=True)
class RoleRun:
    """One study model at one revision: its test images and what each training seed predicted for them."""

    paths: tuple[str, ...]
    actual: tuple[str, ...]
    predicted: dict[int, tuple[str, ...]]  # seed -> class name per test image, in `paths` order
    settings: dict[str, float | int] = field(default_factory=dict)  # what was chosen: lr, batch size, dropout p


@dataclass(frozen=True)
class Side:
    """A revision as compared: its name as given, its commit (None for the workspace) and its study models."""

    name: str
    commit: str | None
    roles: dict[str, RoleRun]


def resolve(repo: Repo, name: str) -> str | None:
    """The commit of a branch, tag, commit or experiment name; None for the workspace."""
    if name == WORKSPACE:
        return None
    try:
        return resolve_rev(repo.scm, name)
    except RevError as error:
        raise FoodCnnError(f"unknown revision or experiment '{name}': not a branch, tag, commit or an experiment "
                           f"that `dvc exp show` lists ({error})") from error


def read_predictions(text: str, source: str) -> tuple[tuple[str, ...], tuple[str, ...], dict[int, tuple[str, ...]]]:
    """Test image paths, their classes and each seed's predicted classes, from a predictions file."""
    by_seed: dict[int, dict[int, tuple[str, str, str]]] = defaultdict(dict)
    try:
        for row in csv.DictReader(StringIO(text)):
            by_seed[int(row["seed"])][int(row["image"])] = (row["path"], row["actual"], row["predicted"])
    except (KeyError, ValueError, TypeError) as error:
        raise FoodCnnError(f"{source}: not a predictions file (seed, image, path, actual, predicted columns)") from error
    if not by_seed:
        raise FoodCnnError(f"{source}: no predictions")
    images = [tuple(rows[index][:2] for index in sorted(rows)) for rows in by_seed.values()]
    if any(seed_images != images[0] for seed_images in images):
        raise FoodCnnError(f"{source}: its seeds were scored on different test images")
    paths, actual = zip(*images[0])
    predicted = {seed: tuple(rows[index][2] for index in sorted(rows)) for seed, rows in sorted(by_seed.items())}
    return paths, actual, predicted


def chosen_settings(role: str, params: dict, selection: dict, test_results: dict) -> dict[str, float | int]:
    """The hyper-parameters a role's model was trained with at a revision, so a row can say what changed."""
    model = role.removesuffix("_dropout")
    if model in selection:
        winner = selection[model]
        if role == model:
            return {"lr": winner["lr"], "batch size": winner["batch_size"]}
        final_lr = params.get("lr", "auto")
        return {"lr": winner["lr"] if final_lr == "auto" else final_lr, "batch size": winner["batch_size"],
                "dropout p": test_results.get(role, {}).get("dropout_p")}
    finetune = params.get("finetune", {})
    return {"lr": finetune.get("lr"), "batch size": finetune.get("batch_size")}


def read_side(repo: Repo, name: str) -> Side:
    """Every study model's predictions at a revision, read through DVC without touching the workspace."""
    commit = resolve(repo, name)
    with repo.switch(commit) if commit else nullcontext():
        return read_roles(repo, name, commit)


def read_roles(repo: Repo, name: str, commit: str | None) -> Side:
    """read_side's reading, with `repo` already switched to the revision."""
    filesystem = repo.dvcfs
    where = f"'{name}'" + (f" ({commit[:7]})" if commit else "")
    if not filesystem.isdir(PREDICTIONS_DIR.as_posix()):
        raise FoodCnnError(f"{where} has no {PREDICTIONS_DIR}/: it predates per-image predictions, or the "
                           f"evaluate stage has not run there (`dvc repro evaluate`)")

    def read(path: str) -> str:
        try:
            return filesystem.read_text(path)
        except FileNotFoundError as error:  # in dvc.lock, but neither in the workspace nor in the DVC cache
            raise FoodCnnError(f"{where}: {path} is not in the DVC cache: `dvc pull` fetches a revision's files, "
                               f"`dvc exp pull <remote> <experiment>` an experiment's") from error

    def load_first(paths: tuple[Path, ...]) -> dict:
        """The first of `paths` the revision has, parsed; {} when it has none."""
        present = [path.as_posix() for path in paths if filesystem.isfile(path.as_posix())]
        return json.loads(read(present[0])) if present else {}

    params = (yaml.safe_load(read(PARAMS)) if filesystem.isfile(PARAMS) else None) or {}
    selection = load_first(SELECTION_FILES)
    test_results = load_first(TEST_RESULTS_FILES)
    files = {path.rsplit("/", 1)[-1].removesuffix(".csv"): path
             for path in filesystem.find(PREDICTIONS_DIR.as_posix()) if path.endswith(".csv")}
    study_order = list(test_results)  # evaluate writes the roles in the report's order
    roles = {}
    for role in sorted(files, key=lambda name: (study_order.index(name) if name in study_order else 99, name)):
        paths, actual, predicted = read_predictions(read(files[role]), f"{where}: {files[role]}")
        roles[role] = RoleRun(paths, actual, predicted, chosen_settings(role, params, selection, test_results))
    if not roles:
        raise FoodCnnError(f"{where}: {PREDICTIONS_DIR}/ holds no predictions files: run `dvc repro evaluate` there")
    return Side(name, commit, roles)


def stale_stages(repo: Repo) -> list[str]:
    """The stages `dvc status` lists as changed in the workspace."""
    return sorted(repo.status())
