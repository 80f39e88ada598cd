"""`dvc exp show` leads with the results: after the experiment and its date come the six test accuracies, and
`--only-changed` with the `--drop` docs/experiments.md gives shows what an experiment changed and what moved."""

import csv
import re
from io import StringIO
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.project import dvc
from tests.study import copy_study

ROLES = ["basic", "basic_dropout", "residual", "residual_dropout", "mobilenet_A", "mobilenet_B"]
COMPARISONS = [
    "residual_vs_basic",
    "basic_dropout_vs_basic",
    "residual_dropout_vs_residual",
    "mobilenet_B_vs_mobilenet_A",
    "transfer_vs_scratch",
]
# Every metric column, in order: numbers only, the test accuracies first (metrics/test.json, then comparisons.json).
METRICS = [
    *ROLES,
    *(f"macro_f1.{role}" for role in ROLES),
    *(f"{key}.{name}" for key in COMPARISONS for name in ("difference", "p_trained_models")),
]
ROW_COLUMNS = ["Experiment", "rev", "typ", "Created", "parent"]  # what --csv shows before the metrics
# The --drop of docs/experiments.md: the deps that are pipeline outputs (their hashes change with any result),
# not the code, the photo folder or the weights a user edits.
PRODUCTS = r"^(data/(raw|prepared|split)|models/|plots/|results/)"


@pytest.fixture(scope="module")
def project(lr_experiment, tmp_path_factory) -> Path:
    """README's `dvc exp run -S lr=0.01` on the tiny study (tests/study.py): BasicCNN won its grid at 0.001, so
    the experiment retrains its dropout model at another learning rate."""
    return copy_study(lr_experiment.folder, tmp_path_factory.mktemp("expshow") / "study")


def table(output: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(StringIO(output)))
    return rows[0], rows[1:]


def param_names(settings: dict, prefix: str = "") -> set[str]:
    """params.yaml's keys as `dvc exp show` names its columns: dotted paths to the values, a list one value."""
    names = set()
    for key, value in settings.items():
        name = f"{prefix}{key}"
        names |= param_names(value, f"{name}.") if isinstance(value, dict) else {name}
    return names


def dep_paths(project: Path) -> set[str]:
    """Every file or folder a stage of dvc.yaml depends on (params aside), as DVC resolves the templates:
    `dvc exp show` hashes each. A matrix stage's `${item.model}` is each model of grid.model."""
    settings = yaml.safe_load((project / "params.yaml").read_text())
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"].values()
    deps = {
        dep.replace("${data.folder.path}", settings["data"]["folder"]["path"])
        for stage in stages
        for dep in stage["deps"]
    }
    return {dep.replace("${item.model}", model) for dep in deps for model in settings["grid"]["model"]}


@pytest.mark.slow
def test_the_first_metric_columns_are_the_six_test_accuracies_and_every_metric_is_a_number(project):
    header, rows = table(dvc(project, "exp", "show", "--csv"))
    params, deps = param_names(yaml.safe_load((project / "params.yaml").read_text())), dep_paths(project)
    assert header[: len(ROW_COLUMNS) + len(METRICS)] == ROW_COLUMNS + METRICS
    rest = header[len(ROW_COLUMNS) + len(METRICS) :]
    assert set(rest[: len(params)]) == params and rest[len(params) :] == sorted(deps)
    assert len(header) == len(ROW_COLUMNS) + len(METRICS) + len(params) + len(deps)
    assert len(rows) == 3  # the workspace, the commit and the experiment
    for row in rows:
        for name, value in zip(header, row, strict=False):
            if name in METRICS:
                float(value)  # no strings, no lists: DVC would show strings as columns


@pytest.mark.slow
def test_a_120_column_terminal_shows_the_test_accuracies_first(project):
    """Without --csv, a terminal gets `dvc exp show` through `less -S`, the table at its full width: a
    terminal shows the first 80 or 120 characters of each line. Piped, DVC prints that same table."""
    lines = dvc(project, "exp", "show").splitlines()
    header = next(line for line in lines if line.split()[:1] == ["Experiment"])
    for width, at_least in [(80, 2), (120, 5)]:
        shown = header[:width].split()
        assert shown[:2] == ["Experiment", "Created"], shown
        whole = shown[2:] if header[width : width + 1] in ("", " ") else shown[2:-1]  # a name cut at the edge
        assert whole == ROLES[: len(whole)] and len(whole) >= at_least, (width, shown)


@pytest.mark.slow
def test_only_changed_shows_the_changed_param_the_moved_numbers_and_with_readme_drop_no_hashes(project):
    header, rows = table(dvc(project, "exp", "show", "--only-changed", "--csv"))
    # The rows' names, the numbers that moved (which ones, the tiny models decide), lr, the deps that changed.
    metrics, changed = [name for name in METRICS if name in header], sorted(set(header) & dep_paths(project))
    assert header == ["Experiment", "rev", "typ", "Created", *metrics, "lr", *changed] and changed, header
    # DVC shows every dep whose hash changed; the folders among them are all outputs of earlier stages.
    folders = {name for column, name in enumerate(header) if any(row[column].endswith(".dir") for row in rows)}
    assert folders and all(re.match(PRODUCTS, name) for name in folders), folders
    header, rows = table(dvc(project, "exp", "show", "--only-changed", "--drop", PRODUCTS, "--csv"))
    assert header == ["Experiment", "rev", "typ", "Created", *metrics, "lr"], header
    assert not any(value.endswith(".dir") for row in rows for value in row)
    assert f"dvc exp show --only-changed --drop '{PRODUCTS}'" in (REPO / "docs/experiments.md").read_text()
