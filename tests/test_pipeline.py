"""End to end: `dvc repro` on a copy of the repository with tiny parameters."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from PIL import Image

from tests.conftest import REPO, save_image, write_fake_food101, write_mixed_folder

TINY = {
    "data": {"sample": {"images_per_class": 6, "image_size": 16}, "image_size": 16},
    "train": {"epochs": 1},
    "grid": {"lr": [0.01, 0.001], "batch_size": [8]},
    "dropout": {"p": [0.5]},
    "finetune": {"epochs": 1, "batch_size": 8},
}
STUDY_KEYS = {"basic", "residual", "basic_dropout0.5", "residual_dropout0.5", "mobilenet_A", "mobilenet_B"}


def merge(base: dict, update: dict) -> dict:
    return {key: merge(base[key], value) if isinstance(value, dict) else value for key, value in update.items()} | {
        key: value for key, value in base.items() if key not in update
    }


def run(project: Path, *command: str) -> str:
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(command, cwd=project, env=environment, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def dvc(project: Path, *arguments: str) -> str:
    return run(project, sys.executable, "-m", "dvc", *arguments)


def stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def set_params(project: Path, update: dict) -> None:
    path = project / "params.yaml"
    path.write_text(yaml.safe_dump(merge(yaml.safe_load(path.read_text()), update), sort_keys=False))


def copy_project(root: Path, update: dict) -> Path:
    """A git repository holding the project's files (tracked or not ignored), with params updated."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    set_params(root, update)
    run(root, "git", "init", "-q")
    run(root, "git", "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "--allow-empty",
        "-m", "tiny")
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The project run once with tiny params, its results committed."""
    root = copy_project(tmp_path_factory.mktemp("project"), TINY)
    dvc(root, "repro")
    run(root, "git", "add", "-A")
    run(root, "git", "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "repro")
    return root


@pytest.mark.slow
def test_repro_writes_every_metric_and_plot_file(project):
    test_metrics = json.loads((project / "metrics/test.json").read_text())
    assert set(test_metrics) == STUDY_KEYS
    for values in test_metrics.values():
        assert 0.0 <= values["accuracy"] <= 1.0 and 0.0 <= values["macro_f1"] <= 1.0
    selection = json.loads((project / "metrics/selection.json").read_text())
    assert set(selection) == {"basic", "residual"}
    for name in ["basic_lr0.01_bs8", "residual_lr0.001_bs8", "basic_dropout0.5", "mobilenet_B"]:
        header = (project / f"plots/history/{name}.tsv").read_text().splitlines()[0]
        assert header.split("\t") == ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy"]
    for key in STUDY_KEYS:
        confusion = (project / f"plots/confusion/{key}.csv").read_text().splitlines()
        assert confusion[0] == "actual,predicted" and len(confusion) == 1 + 11  # one row per test image
        assert confusion[1].startswith("synthetic_")
    split = (project / "data/split.csv").read_text().splitlines()
    assert split[0] == "path,label,split" and len(split) == 1 + 66
    report = (project / "reports/report.md").read_text()
    assert "synthetic sample images" in report and "none (random init)" in report
    for link in re.findall(r"\]\((figures/[^)]+)\)", report):
        assert (project / "reports" / link).is_file()
    assert "dvc_plots" in (project / ".gitignore").read_text()


@pytest.mark.slow
def test_second_repro_runs_nothing(project):
    output = dvc(project, "repro")
    assert stages_run(output) == set()
    assert "Data and pipelines are up to date" in output


@pytest.mark.slow
def test_a_dropout_change_reruns_only_dropout_evaluate_and_report(project):
    set_params(project, {"dropout": {"p": [0.3]}})
    assert stages_run(dvc(project, "repro")) == {"dropout@basic-0.3", "dropout@residual-0.3", "evaluate", "report"}
    run(project, "git", "checkout", "--", "params.yaml")
    assert not stages_run(dvc(project, "repro")) & {"dropout@basic-0.5", "dropout@residual-0.5"}


@pytest.mark.slow
def test_a_finetune_lr_change_retrains_no_scratch_model_and_going_back_uses_the_run_cache(project):
    set_params(project, {"finetune": {"lr": 0.001}})
    assert stages_run(dvc(project, "repro")) == {"finetune@A", "finetune@B", "evaluate", "report"}
    run(project, "git", "checkout", "--", "params.yaml")
    output = dvc(project, "repro")
    assert not stages_run(output) & {"finetune@A", "finetune@B"}
    assert "Stage 'finetune@A' is cached - skipping run, checking out outputs" in output
    assert dvc(project, "status").strip().endswith("Data and pipelines are up to date.")


@pytest.mark.slow
def test_exp_run_with_a_top_level_lr_retrains_the_final_models(project):
    output = dvc(project, "exp", "run", "-S", "lr=0.01")
    assert stages_run(output) == {"dropout@basic-0.5", "dropout@residual-0.5", "evaluate", "report"}
    diff = json.loads(dvc(project, "params", "diff", "--json"))
    assert diff["params.yaml"]["lr"] == {"old": "auto", "new": 0.01}
    shown = json.loads(dvc(project, "exp", "show", "--json"))
    assert shown, "dvc exp show lists the experiment"
    metrics_diff = dvc(project, "metrics", "diff", "--all")
    assert "basic_dropout0.5.accuracy" in metrics_diff


DATA_STAGES = {"images", "split", "prepare"}


@pytest.mark.slow
def test_a_folder_outside_the_repository_runs_through_split_and_prepare_and_reruns_on_content_only(tmp_path):
    photos = tmp_path / "photos"
    good, bad = write_mixed_folder(photos)
    root = copy_project(tmp_path / "project", {"data": {"source": "folder", "folder": {"path": str(photos)},
                                                        "image_size": 16}})
    assert stages_run(dvc(root, "repro", "prepare")) == DATA_STAGES
    report = json.loads((root / "data/split_report.json").read_text())
    assert {entry["path"] for entry in report["skipped"]} == set(bad)
    assert sum(report["images"].values()) == len(good)
    split = {line.split(",")[0] for line in (root / "data/split.csv").read_text().splitlines()[1:]}
    assert split == set(good)
    assert stages_run(dvc(root, "repro", "prepare")) == set()

    set_params(root, {"data": {"food101": {"images_per_class": 50}}})  # read by images, changes no file
    assert stages_run(dvc(root, "repro", "prepare")) == {"images"}
    save_image(Image.new("RGB", (12, 12), (7, 8, 9)), photos / "pizza" / "new.png")
    assert stages_run(dvc(root, "repro", "prepare")) == DATA_STAGES
    assert "pizza/new.png" in (root / "data/split.csv").read_text()


@pytest.mark.slow
def test_a_food101_copy_in_place_with_its_official_test_split_runs_through_split_and_prepare(tmp_path):
    base = write_fake_food101(tmp_path / "project/data/food101", {"apple_pie": (8, 3), "pizza": (9, 3),
                                                                   "sushi": (8, 2)})
    food101 = {"classes": ["apple_pie", "sushi"], "official_test": True}
    root = copy_project(tmp_path / "project", {"data": {"source": "food101", "food101": food101, "image_size": 16}})
    assert "data/food101/" not in run(root, "git", "status", "--porcelain", "--untracked-files=all")
    assert stages_run(dvc(root, "repro", "prepare")) == DATA_STAGES
    official = {f"{entry}.jpg" for entry in (base / "meta/test.txt").read_text().split() if "pizza" not in entry}
    rows = [line.split(",") for line in (root / "data/split.csv").read_text().splitlines()[1:]]
    assert {path for path, _, split in rows if split == "test"} == official
    assert {label for _, label, _ in rows} == {"apple_pie", "sushi"}
    assert (root / "data/prepared/test.pt").is_file()
