"""`foodcnn diff` between revisions: git branches and tags, experiments, the workspace, a fresh clone without the
DVC cache, revisions older than results/, and bad input; and two seed sets of the tiny study."""

import json
import sys
from pathlib import Path

import pytest
import yaml

from tests.project import attempt, dvc, git, run, set_params
from tests.study import copy_study
from tests.test_diff import image_list, predictions

HISTORY_IMAGES = image_list()
HISTORY_BASE = predictions(HISTORY_IMAGES, 0.4, seed=7)
BASE_ACCURACY = sum(p == a for p, (_, a) in zip(HISTORY_BASE, HISTORY_IMAGES, strict=True)) / 99


def plant(project: Path, selection: str) -> None:
    """The evaluate stage of `history`: each run's predictions, and the grid winner as `selection` holds it."""
    (project / "plant.py").write_text(
        "import json, os, yaml\n"
        f"images = {json.dumps(HISTORY_IMAGES)}\nbase = {json.dumps(HISTORY_BASE)}\n"
        "params = yaml.safe_load(open('params.yaml'))\n"
        "rows = ['seed,image,path,actual,predicted,confidence']\n"
        "fixed = 0\n"
        "for i, ((path, actual), predicted) in enumerate(zip(images, base)):\n"
        "    if predicted != actual and fixed < params['fixed']:\n"
        "        predicted, fixed = actual, fixed + 1\n"
        "    rows.append(f'42,{i},{path},{actual},{predicted},0.5')\n"
        "os.makedirs('plots/predictions', exist_ok=True)\n"
        "open('plots/predictions/basic.csv', 'w').write('\\n'.join(rows) + '\\n')\n"
        f"os.makedirs(os.path.dirname('{selection}'), exist_ok=True)\n"
        "winner = {'config': 'basic', 'lr': params['lr'], 'batch_size': 32, 'val_accuracy': 0.5}\n"
        f"json.dump({{'basic': winner}}, open('{selection}', 'w'))\n"
    )
    # The selection in the DVC cache, as results/ holds it now, or a metrics file in git, as metrics/ held it.
    kept = (
        f"      - {selection}\n"
        if selection.startswith("results/")
        else f"    metrics:\n      - {selection}:\n          cache: false\n"
    )
    (project / "dvc.yaml").write_text(
        "stages:\n  evaluate:\n    cmd: python plant.py\n    deps: [plant.py]\n    params: [fixed, lr]\n"
        "    outs:\n      - plots/predictions:\n          cache: false\n" + kept
    )


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """A git + DVC repository: main (tag 'before') at BASE_ACCURACY, branch 'better' with 35 more test images
    right and its grid winner trained at lr 0.01, not 0.001, branch 'legacy' with main's predictions and a
    winner at lr 0.1 kept where revisions older than results/ kept it, an experiment 'lucky' with 4 more
    images right, and a workspace left as main."""
    project = tmp_path_factory.mktemp("history")
    run(project, "git", "init", "-q", "--initial-branch=main")
    dvc(project, "init", "-q")
    plant(project, "results/selection.json")
    (project / "params.yaml").write_text("fixed: 0\nlr: 0.001\n")
    dvc(project, "repro", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "before")
    git(project, "tag", "before")
    git(project, "checkout", "-q", "-b", "better")
    (project / "params.yaml").write_text("fixed: 35\nlr: 0.01\n")
    dvc(project, "repro", "-q")
    git(project, "commit", "-q", "-am", "better")
    git(project, "checkout", "-q", "-b", "legacy", "main")
    plant(project, "metrics/selection.json")
    (project / "params.yaml").write_text("fixed: 0\nlr: 0.1\n")
    dvc(project, "repro", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "legacy")
    git(project, "checkout", "-q", "main")
    dvc(project, "exp", "run", "-q", "-n", "lucky", "-S", "fixed=4")
    git(project, "checkout", "-q", "--", ".")  # the experiment leaves its results in the workspace
    return project


def diff(project: Path, *arguments: str) -> tuple[int, str, str]:
    result = attempt(project, sys.executable, "-m", "foodcnn", "diff", *arguments)
    return result.returncode, result.stdout, result.stderr


def test_diff_between_branches_prints_the_table(history):
    status, out, err = diff(history, "main", "better")
    assert status == 0, err
    assert f"| basic | {100 * BASE_ACCURACY:.1f} | {100 * BASE_ACCURACY + 3500 / 99:.1f} | +35.4" in out
    assert (
        "| B better (these models) | lr 0.001 -> 0.01 |" in out
    )  # the winner's lr: results/selection.json (DVC cache)
    assert "A = main (" in out and "B = better (" in out
    assert "No verdict about the training procedures: they need 3 seeds per side (here 1 and 1)." in out


def test_a_revision_older_than_results_gives_its_settings_from_metrics(history):
    status, out, err = diff(history, "legacy", "main")
    assert status == 0, err
    assert "| no evidence either way | lr 0.1 -> 0.001 |" in out


def test_a_revision_whose_results_are_not_in_the_dvc_cache_is_compared_from_git(history):
    lock = yaml.safe_load(run(history, "git", "show", "better:dvc.lock"))
    digest = next(out["md5"] for out in lock["stages"]["evaluate"]["outs"] if out["path"] == "results/selection.json")
    stored = history / ".dvc/cache/files/md5" / digest[:2] / digest[2:]
    moved = stored.rename(history / "away")
    try:
        status, out, err = diff(history, "main", "better")
    finally:
        moved.rename(stored)
    assert status == 0, err
    assert (
        "- B's results/selection.json not in the DVC cache (`dvc pull` fetches them): what changed is unavailable"
        in out
    )
    assert "| +35.4 [" in out and "| B better (these models) | unavailable |" in out


def test_a_fresh_clone_without_a_remote_compares_a_prediction_edited_by_hand(history, tmp_path):
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(history), str(clone))  # results/ lives in the DVC cache: not here
    predictions = clone / "plots/predictions/basic.csv"
    lines = predictions.read_text().splitlines()
    wrong = next(number for number, line in enumerate(lines[1:], 1) if line.split(",")[3] != line.split(",")[4])
    fields = lines[wrong].split(",")
    lines[wrong] = ",".join([*fields[:4], fields[3], *fields[5:]])  # one wrong prediction made right
    predictions.write_text("\n".join(lines) + "\n")
    status, out, err = diff(clone, "HEAD", "workspace")
    assert status == 0, err
    assert out.startswith("> The workspace has outputs changed after their stage ran (`dvc status`: evaluate)")
    assert "- A's results/selection.json not in the DVC cache" in out and "- B's results/selection.json" in out
    assert f"| basic | {100 * BASE_ACCURACY:.1f} | {100 * BASE_ACCURACY + 100 / 99:.1f} | +1.0 [" in out
    assert "| no evidence either way | unavailable |" in out


def test_an_experiment_name_and_the_workspace_resolve(history):
    status, out, err = diff(history, "--json", "main", "lucky", "workspace")
    assert status == 0, err
    comparisons = json.loads(out)["comparisons"]
    assert [c["b"]["name"] for c in comparisons] == ["lucky", "workspace"]
    assert comparisons[0]["b"]["commit"] and comparisons[1]["b"]["commit"] is None
    assert comparisons[0]["roles"]["basic"]["accuracy"]["difference"] == pytest.approx(4 / 99, abs=1e-4)
    assert comparisons[0]["roles"]["basic"]["trained_models"]["verdict"] == "no evidence either way"
    assert comparisons[0]["roles"]["basic"]["procedures"]["verdict"] == "none: needs 3 seeds per side (A has 1, B 1)"
    assert comparisons[1]["roles"]["basic"]["accuracy"]["difference"] == 0
    assert run(history, "git", "status", "--porcelain") == ""  # nothing checked out, nothing written


def test_no_revision_means_head_against_the_workspace_and_a_forest_plot_is_drawn(history, tmp_path):
    status, out, err = diff(history, "-o", str(tmp_path / "forest.png"))
    assert status == 0, err
    assert "A = HEAD (" in out and "B = workspace" in out and "+0.0" in out
    assert (tmp_path / "forest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_stale_workspace_is_said_and_still_compared(history):
    params = history / "params.yaml"
    params.write_text("fixed: 1\nlr: 0.001\n")
    try:
        status, out, err = diff(history, "before")
    finally:
        params.write_text("fixed: 0\nlr: 0.001\n")
    assert status == 0, err
    assert out.startswith(
        "> The workspace has results older than their code, params or inputs (`dvc status`: evaluate)"
    )
    assert f"| basic | {100 * BASE_ACCURACY:.1f} | {100 * BASE_ACCURACY:.1f} |" in out


@pytest.mark.parametrize(
    "arguments, message",
    [
        (("no-such-branch",), "error: unknown revision or experiment 'no-such-branch': not a branch, tag, commit"),
        (("main", "--resamples", "0"), "error: --resamples must be from 1 to 1000000 (got 0)"),
        (
            ("main", "--resamples", "100000000"),
            "error: --resamples must be from 1 to 1000000 (got 100000000): more would",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_two(history, arguments, message):
    status, out, err = diff(history, *arguments)
    assert status == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1


def test_a_revision_without_predictions_files_is_one_line(history):
    git(history, "checkout", "-q", "--orphan", "empty")
    try:
        git(history, "rm", "-rq", "--cached", ".")
        git(history, "commit", "-q", "--allow-empty", "-m", "before the feature")
        git(history, "checkout", "-q", "-f", "main")
        status, out, err = diff(history, "empty", "main")
    finally:
        git(history, "checkout", "-q", "-f", "main")
    assert status == 2 and err.count("\n") == 1
    assert "'empty' (" in err and "has no plots/predictions/: it predates per-image predictions" in err


@pytest.mark.slow
def test_two_seed_sets_of_the_same_study_get_no_procedure_verdict_better(seeded_study, tmp_path):
    """The small study (three roles: BasicCNN, one learning rate, one fine-tune case) with 3 seeds, committed
    (tests/study.py), then the same with 3 other seeds: the procedures are the same, so no role may be called
    better."""
    project = copy_study(seeded_study.folder, tmp_path / "study")
    set_params(project, {"train": {"seeds": [45, 46, 47]}})
    dvc(project, "repro", "evaluate")
    status, out, err = diff(project, "--json", "HEAD", "workspace")
    assert status == 0, err
    roles = json.loads(out)["comparisons"][0]["roles"]
    assert list(roles) == ["basic", "basic_dropout", "mobilenet_A"]
    for role, result in roles.items():
        assert result["seeds"] == [3, 3] and "p_value" in result["procedures"], role
        assert "better" not in result["procedures"]["verdict"], (role, result["procedures"])
