"""`foodcnn tidy`'s choice: the files in the runs' folders that no stage of dvc.yaml declares, on a small DVC
project whose matrix lost a value (nothing is run)."""

import subprocess
import sys
from pathlib import Path

import yaml

from foodcnn.leftovers import leftovers, remove


def matrix_project(root: Path, seeds: list[int]) -> Path:
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=root, check=True)
    stage = {
        "matrix": {"seed": seeds},
        "cmd": "true",
        "outs": ["models/dropout/basic_seed${item.seed}.pt"],
        "plots": [{"plots/history/dropout/basic_seed${item.seed}.tsv": {"cache": False}}],
    }
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"dropout": stage}}))
    return root


def write_runs(root: Path, seeds: list[int]) -> None:
    for seed in seeds:
        for path in (f"models/dropout/basic_seed{seed}.pt", f"plots/history/dropout/basic_seed{seed}.tsv"):
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(str(seed))


def test_the_runs_of_a_dropped_matrix_value_are_left_over_and_the_others_kept(tmp_path):
    root = matrix_project(tmp_path, [43, 44])
    write_runs(root, [42, 43, 44])
    (root / "models/dropout/.gitignore").write_text("/basic_seed42.pt\n/basic_seed43.pt\n")
    assert leftovers(root) == [Path("models/dropout/basic_seed42.pt"), Path("plots/history/dropout/basic_seed42.tsv")]
    remove(root, leftovers(root))
    assert sorted(p.name for p in (root / "models/dropout").iterdir()) == [
        ".gitignore",
        "basic_seed43.pt",
        "basic_seed44.pt",
    ]
    assert (root / "models/dropout/.gitignore").read_text() == "/basic_seed43.pt\n"
    assert sorted(p.name for p in (root / "plots/history/dropout").iterdir()) == [
        "basic_seed43.tsv",
        "basic_seed44.tsv",
    ]
    assert leftovers(root) == []


def test_a_project_without_runs_has_nothing_left_over(tmp_path):
    assert leftovers(matrix_project(tmp_path, [43])) == []


def test_outside_a_dvc_project_nothing_is_left_over(tmp_path):
    write_runs(tmp_path, [42])
    assert leftovers(tmp_path) == []
