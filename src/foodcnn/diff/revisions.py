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
from foodcnn.layout import PREDICTIONS_DIR, SELECTION, SPLIT_REPORT, TEST_METRICS, TEST_RESULTS

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
    # What was chosen: lr, batch size, dropout p; None where the files that say it are not in the DVC cache.
    settings: dict[str, float | int] | None = field(default_factory=dict)


@dataclass(frozen=True)
class Side:
    """A revision as compared: its name as given, its commit (None for the workspace), its study models, and the
    files only the DVC cache holds that it lacks (what changed is unknown without them)."""

    name: str
    commit: str | None
    roles: dict[str, RoleRun]
    missing: tuple[str, ...] = ()


def resolve(repo: Repo, name: str) -> str | None:
    """The commit of a branch, tag, commit or experiment name; None for the workspace."""
    if name == WORKSPACE:
        return None
    try:
        return resolve_rev(repo.scm, name)
    except RevError as error:
        raise FoodCnnError(
            f"unknown revision or experiment '{name}': not a branch, tag, commit or an experiment "
            f"that `dvc exp show` lists ({error})"
        ) from error


def read_predictions(
    text: str, source: str, classes: frozenset[str] | None = None
) -> tuple[tuple[str, ...], tuple[str, ...], dict[int, tuple[str, ...]]]:
    """Test image paths, their classes and each seed's predicted classes, from a predictions file; every class
    one of `classes` (default: the classes of its `actual` column)."""
    by_seed: dict[int, dict[int, tuple[str, str, str]]] = defaultdict(dict)
    try:
        records = list(csv.DictReader(StringIO(text)))
        for row in records:
            by_seed[int(row["seed"])][int(row["image"])] = (row["path"], row["actual"], row["predicted"])
    except (KeyError, ValueError, TypeError) as error:
        raise FoodCnnError(
            f"{source}: not a predictions file (seed, image, path, actual, predicted columns)"
        ) from error
    if not by_seed:
        raise FoodCnnError(f"{source}: no predictions")
    check_classes(records, source, classes or frozenset(row["actual"] for row in records))
    images = [tuple(rows[index][:2] for index in sorted(rows)) for rows in by_seed.values()]
    if any(seed_images != images[0] for seed_images in images):
        raise FoodCnnError(f"{source}: its seeds were scored on different test images")
    paths, actual = zip(*images[0], strict=True)
    predicted = {seed: tuple(rows[index][2] for index in sorted(rows)) for seed, rows in sorted(by_seed.items())}
    return paths, actual, predicted


def check_classes(rows: list[dict[str, str]], source: str, classes: frozenset[str]) -> None:
    """Stop at the first row naming a class the test set does not have (a typo would otherwise count as a
    wrong prediction, or as a class of its own)."""
    for line, row in enumerate(rows, 2):  # line 1 is the header
        for column in ("actual", "predicted"):
            if row[column] not in classes:
                raise FoodCnnError(
                    f"{source}, line {line}: unknown class '{row[column]}' in column {column} (the "
                    f"test set's classes: {', '.join(sorted(classes))})"
                )


def chosen_settings(
    role: str, params: dict, selection: dict | None, test_results: dict | None
) -> dict[str, float | int] | None:
    """The hyper-parameters a role's model was trained with at a revision, so a row can say what changed; None
    when the files that say it are not at hand."""
    model = role.removesuffix("_dropout")
    finetune = params.get("finetune", {})
    if model.startswith("mobilenet"):
        return {"lr": finetune.get("lr"), "batch size": finetune.get("batch_size")}
    if selection is None or test_results is None or model not in selection:
        return None
    winner = selection[model]
    if role == model:
        return {"lr": winner["lr"], "batch size": winner["batch_size"]}
    final_lr = params.get("lr", "auto")
    return {
        "lr": winner["lr"] if final_lr == "auto" else final_lr,
        "batch size": winner["batch_size"],
        "dropout p": test_results.get(role, {}).get("dropout_p"),
    }


def read_side(repo: Repo, name: str) -> Side:
    """Every study model's predictions at a revision, read through DVC without touching the workspace."""
    commit = resolve(repo, name)
    with repo.switch(commit) if commit else nullcontext():
        return read_roles(repo, name, commit)


class RevisionFiles:
    """A revision's files through DVC: those in git, and those in the DVC cache when it has them."""

    def __init__(self, repo: Repo, where: str) -> None:
        self.filesystem, self.where = repo.dvcfs, where

    def read(self, path: str) -> str:
        """A file that must be at hand: in git, or in the DVC cache."""
        try:
            return self.filesystem.read_text(path)
        except FileNotFoundError as error:  # in dvc.lock, but neither in the workspace nor in the DVC cache
            raise FoodCnnError(
                f"{self.where}: {path} is not in the DVC cache: `dvc pull` fetches a revision's "
                f"files, `dvc exp pull <remote> <experiment>` an experiment's"
            ) from error

    def first_json(self, paths: tuple[Path, ...]) -> tuple[dict | None, str | None]:
        """The first of `paths` the revision has, parsed, or {} when it has none; (None, its path) when dvc.lock
        names it but the DVC cache lacks it (a clone without a remote)."""
        present = [path.as_posix() for path in paths if self.filesystem.isfile(path.as_posix())]
        if not present:
            return {}, None
        try:
            return json.loads(self.filesystem.read_text(present[0])), None
        except FileNotFoundError:
            return None, present[0]


def read_roles(repo: Repo, name: str, commit: str | None) -> Side:
    """read_side's reading, with `repo` already switched to the revision."""
    where = f"'{name}'" + (f" ({commit[:7]})" if commit else "")
    files = RevisionFiles(repo, where)
    if not files.filesystem.isdir(PREDICTIONS_DIR.as_posix()):
        raise FoodCnnError(
            f"{where} has no {PREDICTIONS_DIR}/: it predates per-image predictions, or the "
            f"evaluate stage has not run there (`dvc repro evaluate`)"
        )
    params = (yaml.safe_load(files.read(PARAMS)) if files.filesystem.isfile(PARAMS) else None) or {}
    selection, missing_selection = files.first_json(SELECTION_FILES)
    test_results, missing_results = files.first_json(TEST_RESULTS_FILES)
    split, _ = files.first_json((SPLIT_REPORT,))  # in git: it names the classes
    classes = frozenset(split["classes"]) if split and "classes" in split else None
    found = {
        path.rsplit("/", 1)[-1].removesuffix(".csv"): path
        for path in files.filesystem.find(PREDICTIONS_DIR.as_posix())
        if path.endswith(".csv")
    }
    # evaluate writes the roles in the report's order, in results/ and in metrics/ (git) alike
    study_order = list(test_results or files.first_json((TEST_METRICS,))[0] or {})
    roles = {}
    for role in sorted(found, key=lambda name: (study_order.index(name) if name in study_order else 99, name)):
        paths, actual, predicted = read_predictions(files.read(found[role]), f"{where}: {found[role]}", classes)
        roles[role] = RoleRun(paths, actual, predicted, chosen_settings(role, params, selection, test_results))
    if not roles:
        raise FoodCnnError(f"{where}: {PREDICTIONS_DIR}/ holds no predictions files: run `dvc repro evaluate` there")
    return Side(name, commit, roles, tuple(path for path in (missing_selection, missing_results) if path))


MISSING = {"deleted", "not in cache"}  # what `dvc status` says of files a clone has not pulled: absent, not stale


def changed(statuses: dict) -> bool:
    """Whether any entry of a `dvc status` mapping (path -> status, or params file -> {param: status}) is a change,
    not only a file that is not here."""
    return any(isinstance(status, dict) or status not in MISSING for status in statuses.values())


def workspace_changes(repo: Repo) -> tuple[list[str], list[str]]:
    """The stages whose code, params or inputs changed since dvc.lock (stale), and those whose outputs changed
    after their run (edited); a clone that has not pulled its DVC-cached files has neither."""
    stale, edited = [], []
    for stage, changes in sorted(repo.status().items()):
        entries = [change for change in changes if isinstance(change, dict)]
        if len(entries) < len(changes) or any(changed(entry.get("changed deps", {})) for entry in entries):
            stale.append(stage)  # also 'changed command' and 'always changed'
        elif any(changed(entry.get("changed outs", {})) for entry in entries):
            edited.append(stage)
    return stale, edited
