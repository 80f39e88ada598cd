"""`foodcnn repro --scheduler`: the study's stages as tasks of a real Dask cluster (`dask scheduler` and `dask
worker` processes on 127.0.0.1), against sequential `dvc repro`; workers lost, a worker that cannot see the
project, the scheduler lost, a bad address; and the GPU slots of the training stages, on the CPU."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import yaml

from foodcnn import cluster
from foodcnn.cluster import task_resources
from tests.project import TINY, copy_project, dvc
from tests.servers import free_port, wait_for_port

TARGET = "selection"  # the grid's training runs and what they need: the study's shape, at a quarter of its cost
TARGET_STAGES = {
    "params",
    "images",
    "split",
    "prepare",
    *(f"train@{model}-{lr}-8-42" for model in ("basic", "residual") for lr in TINY["grid"]["lr"]),
    "selection",
}


@dataclass
class DaskCluster:
    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen]


@contextmanager
def dask_cluster(project: Path, logs: Path, elsewhere: Path | None = None) -> Iterator[DaskCluster]:
    """A scheduler and two workers started in the project's folder (each runs one command at a time), and one
    more started in `elsewhere` when given; all killed at the end."""
    port = free_port()
    dask = str(Path(sys.executable).parent / "dask")
    # /bin/sh, as where SHELL is unset: dash runs the command as its child, not in its own place.
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    environment["SHELL"] = "/bin/sh"
    with ExitStack() as stack:

        def start(command: list[str], folder: Path, name: str) -> subprocess.Popen:
            log = (logs / f"{name}.log").open("w")
            stack.callback(log.close)
            process = subprocess.Popen(
                command, cwd=folder, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            stack.callback(lambda: (os.killpg(process.pid, signal.SIGKILL), process.wait()))
            return process

        scheduler = start(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], project, "scheduler"
        )
        wait_for_port(port, scheduler, logs / "scheduler.log")
        address = f"tcp://127.0.0.1:{port}"
        worker = [dask, "worker", address, "--nthreads", "1", "--no-dashboard"]
        folders = [project, project, *([elsewhere] if elsewhere else [])]
        workers = [start(worker, folder, f"worker{i}") for i, folder in enumerate(folders)]
        deadline = time.monotonic() + 60
        while len(started(logs)) < len(workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        yield DaskCluster(address, scheduler, workers)


def started(logs: Path) -> list[Path]:
    return [log for log in logs.glob("worker*.log") if "Registered to" in log.read_text()]


@contextmanager
def foodcnn_repro(project: Path, *arguments: str) -> Iterator[subprocess.Popen]:
    """`foodcnn repro` of TARGET, killed when the block ends before it does (a test that failed)."""
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    with subprocess.Popen(
        [sys.executable, "-m", "foodcnn", "repro", *arguments, TARGET],
        cwd=project,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()


def ended(process: psutil.Process) -> bool:
    return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE


def training_command(project: Path) -> psutil.Process | None:
    """A training command of this project running now."""
    for process in psutil.process_iter(["cmdline", "cwd"]):
        cmdline = process.info["cmdline"] or []
        if "stages/train.py" in cmdline and process.info["cwd"] == str(project):
            return process
    return None


def wait_for(condition, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not seen within {seconds} s")


def assert_same_results(project: Path, sequential: Path) -> None:
    """TARGET's stages in dvc.lock, each entry (every output's hash) as sequential `dvc repro` of the whole study
    recorded it, and each of their outputs the same bytes. The entries are compared one by one: with targets,
    DVC's own plan orders the stages by Python's string hashes (collect_stages gathers them in a set), so two
    `dvc repro selection` append them in different orders."""
    found, expected = (yaml.safe_load((root / "dvc.lock").read_text())["stages"] for root in (project, sequential))
    assert set(found) == TARGET_STAGES
    for stage, entry in found.items():
        assert yaml.safe_dump(entry) == yaml.safe_dump(expected[stage]), f"dvc.lock's {stage} differs"
        for out in entry.get("outs", []):
            files = [project / out["path"], *sorted((project / out["path"]).rglob("*"))]
            for path in filter(Path.is_file, files):
                relative = path.relative_to(project)
                assert path.read_bytes() == (sequential / relative).read_bytes(), f"{relative} differs"


@pytest.fixture(scope="module")
def sequential(tiny_study) -> Path:
    """The tiny study as sequential `dvc repro` built it (tests/study.py): TARGET's stages are a part of it."""
    return tiny_study.folder


def tiny_project(folder: Path) -> Path:
    """The tiny project, its params stage run: it removes the copied default study's runs, as it did in the tiny
    study's `dvc repro` before the grid's folders were hashed (TARGET does not need it, so DVC would not run it)."""
    project = copy_project(folder, TINY)
    dvc(project, "repro", "params")
    return project


@pytest.mark.slow
def test_two_workers_build_the_files_of_dvc_repro_though_one_is_killed_mid_run_and_another_is_elsewhere(
    sequential, tmp_path
):
    project = tiny_project(tmp_path / "project")
    (tmp_path / "logs").mkdir()
    (tmp_path / "elsewhere").mkdir()
    with (
        dask_cluster(project, tmp_path / "logs", elsewhere=tmp_path / "elsewhere") as dask,
        foodcnn_repro(project, "--scheduler", dask.address) as repro,
    ):
        training = wait_for(lambda: training_command(project))
        assert "MALLOC_TRIM_THRESHOLD_" not in training.environ()  # the worker's nanny set it for Dask's tasks
        # The worker process (its nanny starts a new one), above the command's tether and shell.
        worker = next(process for process in training.parents() if "spawn" in " ".join(process.cmdline()))
        under_worker = worker.children(recursive=True)
        worker.kill()
        stdout, stderr = repro.communicate(timeout=600)
    assert repro.returncode == 0, stderr
    assert all(ended(process) for process in under_worker)  # the command, its shell included, died with its worker
    refused = [line for line in stderr.splitlines() if "gets no task" in line]
    assert len(refused) == 1 and f"was started in {tmp_path / 'elsewhere'}" in refused[0], stderr
    assert "Traceback" not in stderr
    assert_same_results(project, sequential)
    assert "Data and pipelines are up to date" in dvc(project, "status", TARGET)


@pytest.mark.slow
def test_a_lost_scheduler_is_one_line_and_the_next_run_finishes_from_what_was_kept(sequential, tmp_path):
    project = tiny_project(tmp_path / "project")
    (tmp_path / "logs").mkdir()
    with dask_cluster(project, tmp_path / "logs") as dask, foodcnn_repro(project, "--scheduler", dask.address) as repro:
        wait_for(lambda: training_command(project))
        dask.scheduler.kill()
        stdout, stderr = repro.communicate(timeout=120)
    assert repro.returncode != 0
    assert stderr.strip().splitlines()[-1].startswith(f"error: lost the Dask scheduler at {dask.address}: the stages")
    assert "Traceback" not in stderr and "distributed" not in stderr, stderr
    assert "prepare:" in (project / "dvc.lock").read_text()  # ended before the first training run
    with foodcnn_repro(project, "--jobs", "2") as rerun:
        stdout, stderr = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, stderr
    assert "Stage 'prepare' didn't change, skipping" in stderr + stdout
    assert_same_results(project, sequential)


def test_a_bad_address_is_one_line_after_the_connect_timeout(tmp_path):
    project, address = copy_project(tmp_path, TINY), f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    # How long it takes is the client's timeout (cluster.CONNECT_TIMEOUT_S, named in the line); the subprocess's
    # timeout only catches a hang, so that a loaded machine cannot fail this test.
    result = subprocess.run(
        [sys.executable, "-m", "foodcnn", "repro", "--scheduler", address],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: no Dask scheduler answers at {address} within 5 s: start one (`dask scheduler`) or check the "
        "address (docs/cluster.md)"
    ]
    assert not (project / "data" / "raw").exists()


def test_a_command_gets_the_environment_its_worker_started_with_not_the_nannys_settings():
    started = {"PATH": "/usr/bin", "OMP_NUM_THREADS": "4"}  # the user's own OMP_NUM_THREADS: the nanny keeps it
    nanny = {
        "MALLOC_TRIM_THRESHOLD_": "65536",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONHASHSEED": "6640",
    }
    assert cluster.without_nanny_settings(started | nanny) == started
    assert cluster.without_nanny_settings(started | {"PYTHONHASHSEED": "7"}) == started | {"PYTHONHASHSEED": "7"}


def test_a_stage_asks_for_the_resources_some_worker_offers_and_only_those():
    assert task_resources({"GPU": 1}, {"GPU": 4.0}) == {"GPU": 1}
    assert task_resources({"GPU": 1}, {}) == {}  # a CPU cluster trains on its CPUs, nothing waits for a GPU
    assert task_resources({}, {"GPU": 4.0}) == {}


def test_gpu_stages_share_a_workers_gpu_slots_while_others_use_its_threads(tmp_path, monkeypatch):
    # One worker, 2 threads, 1 GPU slot: two GPU stages run one after the other, two CPU stages side by side.
    from distributed import Client, LocalCluster

    (tmp_path / "dvc.lock").write_text("schema: '2.0'\n")
    monkeypatch.chdir(tmp_path)
    local = LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, resources={"GPU": 1}, dashboard_address="127.0.0.1:0"
    )
    with local, Client(local) as client:
        workers = cluster.start(client, str(tmp_path))
        spans = {}
        for kind, wanted in [("gpu", {"GPU": 1}), ("cpu", {})]:
            futures = [
                workers.submit(f"{kind}{i}", [f"date +%s.%N > {kind}{i}.start; sleep 1; date +%s.%N > {kind}{i}.end"],
                               str(tmp_path), wanted)
                for i in range(2)
            ]  # fmt: skip
            for future in futures:
                future.result(timeout=30)
            spans[kind] = [
                (float((tmp_path / f"{kind}{i}.start").read_text()), float((tmp_path / f"{kind}{i}.end").read_text()))
                for i in range(2)
            ]
    (a_start, a_end), (b_start, b_end) = sorted(spans["gpu"])
    assert b_start >= a_end  # one GPU slot: the second waited
    (a_start, a_end), (b_start, b_end) = sorted(spans["cpu"])
    assert b_start < a_end  # two threads: side by side


def test_a_failed_command_names_its_stage_command_and_exit_status(tmp_path, monkeypatch):
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\n")
    monkeypatch.chdir(tmp_path)
    with cluster.connect(None, 1, tmp_path) as workers:
        future = workers.submit("train@x", ["echo started", "exit 3"], str(tmp_path), {})
        with pytest.raises(cluster.StageCommandFailed, match=r"stage 'train@x' failed: `exit 3` exited with 3"):
            future.result(timeout=30)


def test_a_worker_in_another_folder_or_environment_says_why_it_is_left_out(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    (project / "dvc.lock").write_text("schema: '2.0'\n")
    digest = cluster.file_digest(project / "dvc.lock")
    code = cluster.foodcnn_code()
    monkeypatch.chdir(project)
    assert cluster.repository_seen(str(project), digest, code) is None
    assert cluster.repository_seen(str(project), "another", code) == "sees another dvc.lock"
    assert cluster.repository_seen(str(project), digest, "/elsewhere/foodcnn").startswith("imports foodcnn from ")
    monkeypatch.chdir(tmp_path)
    assert (
        cluster.repository_seen(str(project), digest, code) == f"was started in {tmp_path}, not in the project's folder"
    )
