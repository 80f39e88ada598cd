"""`foodcnn exp run` against `dvc exp run`, and a sweep, on the smallest study that has every kind of stage."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from foodcnn.errors import ParamsError
from foodcnn.experiment import combinations, readable_name
from foodcnn.sweep import Share, share
from tests.project import attempt, dvc, git, run
from tests.study import copy_study
from tests.test_repro_flows import differences, snapshot


def test_a_sweep_is_dvcs_expansion_one_experiment_per_combination():
    assert combinations(["lr=0.001,0.01", "dropout.p=[0.3],[0.5]", "other.yaml:a=range(1,3)"]) == [
        {"params.yaml": [f"lr={lr}", f"dropout.p=[{p}]"], "other.yaml": [f"a={a}"]}
        for lr in ("0.001", "0.01")
        for p in ("0.3", "0.5")
        for a in (1, 2)
    ]
    assert combinations(["lr=0.01"]) == [{"params.yaml": ["lr=0.01"]}]
    assert combinations([]) == [{}]
    with pytest.raises(ParamsError, match="lr=0.01,"):
        combinations(["lr=0.01,"])


def test_a_sweeps_experiments_are_named_after_their_values_as_a_git_ref_may_be():
    assert readable_name({"params.yaml": ["lr=0.01", "dropout.p=[0.3,0.5]"]}) == "lr-0.01_dropout.p-0.3-0.5"
    assert readable_name({"params.yaml": ["+train.extra=1"], "o.yaml": ["a=b"]}) == "train.extra-1_o.yaml-a-b"


def test_the_experiments_divide_the_jobs_unless_a_scheduler_places_the_commands():
    assert share(4, 2, None) == Share(2, ("--jobs", "1"))  # two at once, one command each: the rest wait
    assert share(3, 8, None) == Share(3, ("--jobs", "2"))
    assert share(1, 2, None) == Share(1, ("--jobs", "2"))
    assert share(3, 2, "tcp://127.0.0.1:8786") == Share(
        2, ("--scheduler", "tcp://127.0.0.1:8786")
    )  # the cluster places the commands


@pytest.fixture(scope="module")
def study(small_study, tmp_path_factory) -> Path:
    """The small study of tests/study.py (one fine-tune case), built and committed."""
    return copy_study(small_study.folder, tmp_path_factory.mktemp("experiment") / "study")


def foodcnn(project: Path, *arguments: str) -> str:
    return run(project, sys.executable, "-m", "foodcnn", *arguments)


def experiment_tree(project: Path, name: str) -> str:
    """The experiment's commit as git lists its files: every path and blob."""
    return git(project, "ls-tree", "-r", f"refs/exps/{baseline_ref(project)}/{name}")


def baseline_ref(project: Path) -> str:
    head = git(project, "rev-parse", "HEAD").strip()
    return f"{head[:2]}/{head[2:]}"


def experiments(project: Path) -> set[str]:
    """The experiments `dvc exp show` lists, by name."""
    listed = json.loads(dvc(project, "exp", "show", "--json"))
    return {rev["name"] for row in listed for experiment in row.get("experiments") or [] for rev in experiment["revs"]}


@pytest.mark.slow
def test_one_experiment_is_the_one_dvc_exp_run_makes_byte_for_byte(study, tmp_path):
    ours, theirs = copy_study(study, tmp_path / "ours"), copy_study(study, tmp_path / "theirs")
    output = foodcnn(ours, "exp", "run", "-S", "lr=0.001", "-n", "low")
    dvc(theirs, "exp", "run", "-S", "lr=0.001", "-n", "low")
    assert re.search(r"^\d\d:\d\d:\d\d low: dropout@basic-0\.5-42 ran in [\d.]+ s$", output, re.MULTILINE), output
    assert "| low | lr=0.001 |" in output  # the table's row
    assert experiment_tree(ours, "low") == experiment_tree(theirs, "low")
    # The workspace, DVC's cache and run-cache, git's index: every file but git's objects and DVC's temporary ones.
    assert differences(snapshot(ours), snapshot(theirs)) == []
    assert run(ours, "git", "status", "--porcelain") == run(theirs, "git", "status", "--porcelain")
    assert experiments(ours) == {"low"}
    run(ours, "git", "checkout", "--", ".")
    dvc(ours, "exp", "apply", "low")
    assert yaml.safe_load((ours / "params.yaml").read_text())["lr"] == 0.001
    assert dvc(ours, "status").strip().endswith("Data and pipelines are up to date.")


# A stage command that fails for one combination of values the params stage accepts.
FAILING_REPORT = """import yaml

_values = yaml.safe_load(open("params.yaml"))
if _values["lr"] == 0.001 and _values["evaluate"]["bootstrap_resamples"] == 200:
    raise SystemExit("error: the report cannot be written (planted by the test)")
"""


@pytest.mark.slow
def test_a_sweep_saves_each_experiment_and_names_the_one_that_failed(study, tmp_path):
    project = copy_study(study, tmp_path / "sweep")
    report = project / "stages/report.py"
    report.write_text(FAILING_REPORT + report.read_text())
    git(project, "commit", "-q", "-am", "a report that fails for one combination")
    result = run_failing(project, "exp", "run", "-S", "lr=auto,0.001", "-S", "evaluate.bootstrap_resamples=100,200")
    saved = {f"lr-{lr}_evaluate.bootstrap_resamples-{r}" for lr in ("auto", "0.001") for r in (100, 200)}
    failed = "lr-0.001_evaluate.bootstrap_resamples-200"
    assert experiments(project) == saved - {failed}
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: 1 of 4 experiments failed: {failed} ("), result.stderr
    assert "stage 'report'" in errors[0] and f".dvc/tmp/foodcnn-exp/{failed}.log" in errors[0]
    assert "the report cannot be written" in (project / f".dvc/tmp/foodcnn-exp/{failed}.log").read_text()
    # The two at lr 0.001 share their dropout retrain: started apart, the second restores the first's run.
    dropout = re.findall(r"^\S+ lr-0\.001_\S+: dropout@basic-0\.5-42 (.*)$", result.stdout, re.MULTILINE)
    assert sorted(dropout)[1] == "restored from the run-cache" and sorted(dropout)[0].startswith("ran in "), dropout
    table = [line for line in result.stdout.splitlines() if line.startswith("| lr-")]
    assert [row.split(" | ")[1] for row in table] == [
        "lr=auto evaluate.bootstrap_resamples=100",
        "lr=auto evaluate.bootstrap_resamples=200",
        "lr=0.001 evaluate.bootstrap_resamples=100",
    ]
    assert git(project, "worktree", "list").count("\n") == 1, "a sweep's workspaces are removed"
    assert run(project, "git", "status", "--porcelain") == "", "the project's workspace is left alone"
    for name in saved - {failed}:  # each experiment's files are in the project's cache
        dvc(project, "exp", "apply", name)
        dvc(project, "checkout")
        assert dvc(project, "status").strip().endswith("Data and pipelines are up to date."), name


@pytest.mark.slow
def test_a_stage_two_experiments_side_by_side_share_runs_once_and_the_other_restores_it(study, tmp_path):
    project = copy_study(study, tmp_path / "sweep")
    # Both start at once (two jobs) and need the same dropout retrains at lr 0.001; only their evaluate differs.
    output = foodcnn(project, "exp", "run", "-j", "2", "-S", "lr=0.001", "-S", "evaluate.bootstrap_resamples=100,200")
    retrains = re.findall(r"^\S+ lr-0\.001_\S+: (dropout@\S+) (ran in|restored from)", output, re.MULTILINE)
    assert retrains, output
    for stage in {stage for stage, _ in retrains}:
        assert sorted(how for name, how in retrains if name == stage) == ["ran in", "restored from"], output
    assert len(experiments(project)) == 2


def run_failing(project: Path, *arguments: str) -> subprocess.CompletedProcess:
    result = attempt(project, sys.executable, "-m", "foodcnn", *arguments)
    assert result.returncode == 2, result.stdout + result.stderr
    return result
