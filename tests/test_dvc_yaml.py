"""dvc.yaml against the code: each stage's deps are exactly the modules its entry point imports, and its
outputs are the paths foodcnn.layout gives them."""

import ast
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from foodcnn import layout, params, registry
from foodcnn.runs import dropout_run, finetune_run, grid_run, winner_run
from tests.conftest import REPO, TOY_ARCHITECTURE
from tests.project import attempt, copy_project, dvc, set_params
from tests.study import copy_study

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


def architecture_closure(model: str) -> set[Path]:
    """An architecture's module, which foodcnn.models imports by name, and what it imports."""
    module = SOURCE / "foodcnn" / "models" / f"{model}.py"
    return import_closure(module) | {module.relative_to(REPO)}


def closures_by_model(stage: dict) -> dict[str, tuple[set[Path], set[Path]]]:
    """The stage's listed code deps and its import closure, per from-scratch model where they differ.

    foodcnn.models imports an architecture's module by name (`scratch_model`), which no import statement shows:
    a stage whose command names a model (`--model ${item.model}`) imports that one, and a stage that reads
    grid.model and can build or title a model imports every one; other stages none."""
    entry, listed = code_deps(stage)
    closure = import_closure(REPO / entry) | {entry}
    if "${item.model}" in stage["cmd"]:
        return {
            model: (
                {Path(str(dep).replace("${item.model}", model)) for dep in listed},
                closure | architecture_closure(model),
            )
            for model in params.SCRATCH_MODELS
        }
    reads_models = {"grid", "grid.model"} & {param for param in stage.get("params", []) if isinstance(param, str)}
    if reads_models and Path("src/foodcnn/models/__init__.py") in closure:
        closure = closure.union(*map(architecture_closure, params.SCRATCH_MODELS))
    return {"": (listed, closure)}


@pytest.mark.parametrize("name", list(STAGES))
def test_deps_are_the_stage_import_closure(name):
    for model, (listed, closure) in closures_by_model(STAGES[name]).items():
        where = f"stage {name}" + (f" for model {model}" if model else "")
        missing = sorted(str(path) for path in closure if not covered(path, listed))
        assert not missing, f"{where} imports these but dvc.yaml does not list them: {missing}"
        unused = []
        for dep in listed:
            files = sorted((REPO / dep).rglob("*.py")) if (REPO / dep).is_dir() else [REPO / dep]
            unused += [str(path.relative_to(REPO)) for path in files if path.relative_to(REPO) not in closure]
        assert not unused, f"{where} lists these in dvc.yaml but never imports them: {sorted(unused)}"


def test_import_closure_follows_function_level_and_package_imports(tmp_path):
    entry = tmp_path / "entry.py"
    entry.write_text("def main():\n    from foodcnn.models import build_model\n")
    closure = import_closure(entry)
    assert Path("src/foodcnn/__init__.py") in closure
    assert Path("src/foodcnn/models/__init__.py") in closure
    assert Path("src/foodcnn/models/mobilenet.py") in closure  # imported inside build_model
    assert Path("src/foodcnn/models/basic.py") not in closure  # imported by name, only when built
    assert Path("src/foodcnn/training.py") not in closure


def test_a_stage_that_trains_a_named_model_imports_that_architecture_alone():
    stage = {"cmd": "python stages/train.py --model ${item.model}", "deps": ["src/foodcnn/models/${item.model}.py"]}
    cases = closures_by_model(stage)
    assert set(cases) == set(params.SCRATCH_MODELS) and len(cases) >= 2
    for model, (listed, closure) in cases.items():
        assert listed == {Path(f"src/foodcnn/models/{model}.py")}
        others = {Path(f"src/foodcnn/models/{other}.py") for other in params.SCRATCH_MODELS} - listed
        assert listed <= closure and not others & closure, model


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
        "evaluate": {
            layout.TEST_RESULTS,
            layout.COMPARISONS,
            layout.TEST_METRICS,
            layout.COMPARISON_METRICS,
            layout.PREDICTIONS_DIR,
            layout.PER_CLASS_DIR,
        },
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
                        grid_run(settings, model, lr, batch_size, seed)
                    )
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


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"grid": {"lr": 0.01}}, "ERROR: unexpected error - 'Value' object is not iterable"),
        (None, "ERROR: failed to parse 'stages.train.matrix' in 'dvc.yaml': Could not find 'grid.model'"),
    ],
)
def test_dvc_fails_on_a_scalar_grid_list_or_no_params_before_any_stage_with_the_message_the_docs_quote(
    tmp_path, update, message
):
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


@pytest.mark.slow
def test_a_third_architecture_is_its_module_and_its_name_and_every_run_stays_cached(tiny_study, tmp_path, monkeypatch):
    """docs/layout.md's two files: the module and grid.model. The stages that existed stay up to date; the new
    architecture's runs and the stages over every model (params, selection, evaluate, publish, report, export)
    are what is left."""
    project = copy_study(tiny_study.folder, tmp_path / "study")
    monkeypatch.setenv("PYTHONPATH", str(project / "src"))  # the copy's foodcnn, where the new module is
    (project / "src/foodcnn/models/toy.py").write_text(TOY_ARCHITECTURE)
    set_params(project, {"grid": {"model": ["basic", "residual", "toy"]}})
    status = json.loads(dvc(project, "status", "--json"))
    assert set(status) == {
        "train@toy-0.01-8-42",
        "train@toy-0.001-8-42",
        "winner@toy-42",
        "dropout@toy-0.5-42",
        "params",
        "selection",
        "evaluate",
        "publish",
        "report",
        "export",
    }
    dvc(project, "repro")
    assert json.loads(dvc(project, "status", "--json")) == {}
    comparisons = json.loads((project / "metrics/comparisons.json").read_text())
    assert list(comparisons)[:4] == ["residual_vs_basic", "toy_vs_basic", "toy_vs_residual", "basic_dropout_vs_basic"]
    assert "ToyCNN" in (project / "reports/report.md").read_text()
