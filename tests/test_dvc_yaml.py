"""dvc.yaml against the code: each stage's deps are exactly the modules its entry point imports, and its
outputs are the paths foodcnn.layout gives them."""

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

from foodcnn import layout, params, registry
from foodcnn.runs import dropout_run, finetune_run, grid_run, winner_run
from tests.conftest import REPO
from tests.project import attempt, copy_project

SOURCE = REPO / "src"
STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def module_file(name: str) -> Path | None:
    """The file of a foodcnn module or package, or None for modules outside the project."""
    base = SOURCE.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_names(path: Path) -> set[str]:
    """Every module an import statement in the file names, function-level imports included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def import_closure(entry: Path) -> set[Path]:
    """The project's source files that running `entry` imports, directly or not, package __init__s included."""
    found: set[Path] = set()
    pending = [entry]
    while pending:
        for name in imported_names(pending.pop()):
            if not name.startswith("foodcnn"):
                continue
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                path = module_file(".".join(parts[:depth]))
                if path is not None and path not in found:
                    found.add(path)
                    pending.append(path)
    return {path.relative_to(REPO) for path in found}


def code_deps(stage: dict) -> tuple[Path, set[Path]]:
    """The stage's entry point (from its cmd) and the source files and folders its deps list."""
    entry = Path(re.search(r"python (stages/\w+\.py)", stage["cmd"]).group(1))
    listed = {Path(dep) for dep in stage["deps"] if dep.startswith(("src/", "stages/"))}
    return entry, listed


def covered(path: Path, deps: set[Path]) -> bool:
    return any(path == dep or dep in path.parents for dep in deps)


@pytest.mark.parametrize("name", list(STAGES))
def test_deps_are_the_stage_import_closure(name):
    entry, listed = code_deps(STAGES[name])
    closure = import_closure(REPO / entry) | {entry}
    missing = sorted(str(path) for path in closure if not covered(path, listed))
    assert not missing, f"stage {name} imports these but dvc.yaml does not list them: {missing}"
    unused = []
    for dep in listed:
        files = sorted((REPO / dep).rglob("*.py")) if (REPO / dep).is_dir() else [REPO / dep]
        unused += [str(path.relative_to(REPO)) for path in files if path.relative_to(REPO) not in closure]
    assert not unused, f"stage {name} lists these in dvc.yaml but never imports them: {sorted(unused)}"


def test_import_closure_follows_function_level_and_package_imports(tmp_path):
    entry = tmp_path / "entry.py"
    entry.write_text("def main():\n    from foodcnn.models import build_model\n")
    closure = import_closure(entry)
    assert Path("src/foodcnn/__init__.py") in closure
    assert Path("src/foodcnn/models/__init__.py") in closure
    assert Path("src/foodcnn/models/mobilenet.py") in closure  # imported inside build_model
    assert Path("src/foodcnn/training.py") not in closure


def expected_outputs(settings: params.Params) -> dict[str, set[Path]]:
    """Every stage's outputs as foodcnn.layout and foodcnn.runs name them, for these settings."""
    def run_outputs(config) -> set[Path]:
        return {config.files.model, config.files.history}

    outputs = {
        "params": set(),
        "images": {layout.RAW_DIR},
        "split": {layout.SPLIT_TABLE, layout.SPLIT_REPORT},
        "prepare": {layout.PREPARED_DIR},
        "backbone": {layout.BACKBONE},
        "selection": {layout.SELECTION, layout.GRID_TABLE},
        "evaluate": {layout.TEST_RESULTS, layout.COMPARISONS, layout.TEST_METRICS, layout.COMPARISON_METRICS,
                     layout.PREDICTIONS_DIR, layout.PER_CLASS_DIR},
        "report": {layout.REPORTS},
        "publish": {registry.STUDY_MODELS},
        "export": {registry.EXPORT_DIR},
    }
    winners = {model: {"lr": 0.01, "batch_size": 32} for model in settings.grid.model}
    for seed in settings.grid.seeds:
        for model in settings.grid.model:
            for lr in settings.grid.lr:
                for batch_size in settings.grid.batch_size:
                    outputs[f"train@{model}-{lr:g}-{batch_size}-{seed}"] = run_outputs(
                        grid_run(settings, model, lr, batch_size, seed))
    for seed in settings.train.seeds:
        for model in settings.grid.model:
            outputs[f"winner@{model}-{seed}"] = run_outputs(winner_run(settings, model, seed, winners))
            for p in settings.dropout:
                outputs[f"dropout@{model}-{p:g}-{seed}"] = run_outputs(dropout_run(settings, model, p, seed, winners))
        for case in settings.finetune.cases:
            outputs[f"finetune@{case}-{seed}"] = run_outputs(finetune_run(settings, case, seed))
    return outputs


@pytest.mark.slow
def test_outputs_are_where_layout_puts_them():
    from dvc.repo import Repo

    with Repo(str(REPO)) as repo:
        declared = {stage.addressing: {Path(out.def_path) for out in stage.outs} for stage in repo.index.stages}
    assert declared == expected_outputs(params.load(REPO / "params.yaml"))


@pytest.mark.parametrize(("update", "message"), [
    ({"grid": {"lr": 0.01}}, "ERROR: unexpected error - 'Value' object is not iterable"),
    (None, "ERROR: failed to parse 'stages.train.matrix' in 'dvc.yaml': Could not find 'grid.model'"),
])
def test_dvc_fails_on_a_scalar_grid_list_or_no_params_before_any_stage_with_the_message_the_docs_quote(
        tmp_path, update, message):
    """No dvc.yaml form turns a scalar into a one-item matrix, so docs/experiments.md quotes DVC's own message;
    this test notices a DVC release that words it otherwise (or accepts a scalar), and the page should then
    change."""
    project = copy_project(tmp_path, update or {})
    if update is None:
        (project / "params.yaml").unlink()
    result = attempt(project, sys.executable, "-m", "dvc", "status")
    assert result.returncode != 0 and message in result.stderr + result.stdout
    page = " ".join((REPO / "docs" / "experiments.md").read_text().split())
    assert f"`{message}`" in page
