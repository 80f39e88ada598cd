"""Figure 15: what running stage commands as Dask tasks costs `foodcnn repro`.

a. per task: 40 stage commands that do nothing (`true`), two at a time, through a thread pool starting each
   as DVC's `cmd_run` does (what `foodcnn repro` did before Dask), through the local cluster `foodcnn repro`
   starts in its own process, and through a `dask scheduler` with two `dask worker` processes on 127.0.0.1;
   the local cluster's start and stop
b. the default study from a clean state: `foodcnn repro` of --cluster-before (a checkout of the thread-pool
   version; skipped without it), of this checkout on its local cluster, and on the 2-worker cluster
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from study import fresh_copy, phases, study_environment, timed_repro

from foodcnn import cluster
from foodcnn.schedule import Start, run_side_by_side

TASKS = 40


def no_op_commands(launch: Callable[[str], Future]) -> float:
    """Wall time of TASKS `true` commands, two at a time, through `launch`."""
    names = [f"noop{i}" for i in range(TASKS)]
    began = time.perf_counter()
    run_side_by_side(names, {name: [] for name in names}, lambda _: Start.RUN, launch, print_nothing, print_nothing, 2)
    return time.perf_counter() - began


def print_nothing(_: str) -> None:
    pass


def as_cmd_run(folder: Path, name: str) -> None:
    """One command as DVC's `cmd_run` starts it: its shell without profiles, the output on this terminal."""
    from dvc.stage.run import _make_cmd, get_executable

    subprocess.run(_make_cmd(get_executable(), "true"), cwd=folder, check=True)


@contextmanager
def two_workers(folder: Path) -> Iterator[str]:
    """A `dask scheduler` and two single-thread `dask worker` processes started in `folder`, on 127.0.0.1."""
    from tests.servers import free_port, wait_for_port

    port = free_port()
    dask = str(Path(sys.executable).parent / "dask")
    log = (folder / "dask.log").open("w")
    address = f"tcp://127.0.0.1:{port}"
    processes = [
        subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                         cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    ]  # fmt: skip
    try:
        wait_for_port(port, processes[0], folder / "dask.log")
        for _ in range(2):
            processes.append(
                subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard"],
                                 cwd=folder, stdout=log, stderr=subprocess.STDOUT)
            )  # fmt: skip
        yield address
    finally:
        for process in processes:
            process.kill()
            process.wait()
        log.close()


def per_task(repeats: int) -> None:
    print(f"\n15a. {TASKS} stage commands that do nothing (`true`), two at a time; median of {repeats}")
    with tempfile.TemporaryDirectory(prefix="foodcnn-cluster-") as name:
        folder = Path(name)
        (folder / "dvc.lock").write_text("schema: '2.0'\n")
        os.chdir(folder)  # a worker must be started in the project: here, this folder
        timings: dict[str, list[float]] = {"thread pool, as DVC's cmd_run": [], "local cluster": [], "2 workers": []}
        starts: list[float] = []
        with ThreadPoolExecutor(max_workers=2) as pool, two_workers(folder) as address:
            with cluster.connect(address, 1, folder) as remote:
                for _ in range(repeats):
                    timings["thread pool, as DVC's cmd_run"].append(
                        no_op_commands(lambda name: pool.submit(as_cmd_run, folder, name))
                    )
                    began = time.perf_counter()
                    with cluster.connect(None, 2, folder) as local:
                        starts.append(time.perf_counter() - began)
                        timings["local cluster"].append(no_op_commands(partial(submit, local, folder)))
                    timings["2 workers"].append(no_op_commands(partial(submit, remote, folder)))
    pool_time = statistics.median(timings["thread pool, as DVC's cmd_run"])
    for label, times in timings.items():
        median = statistics.median(times)
        print(
            f"   {label:30} {median:6.2f} s   {1000 * median / TASKS:6.1f} ms a task"
            f"   (+{1000 * (median - pool_time) / TASKS:5.1f} ms a task against the thread pool)"
        )
    print(f"   the local cluster's start and stop: {statistics.median(starts):.2f} s (start only; stop follows)")


def submit(workers: cluster.Cluster, folder: Path, name: str) -> Future:
    return workers.submit(name, ["true"], str(folder), {})


def study(before: Path | None, keep: bool) -> None:
    print("\n15b. the default study from a clean state, `foodcnn repro`, back to back")
    environment = study_environment()
    runs: list[tuple[str, dict[str, str], tuple[str, ...], bool]] = []
    if before is not None:
        old = {**environment, "PYTHONPATH": str(before / "src")}
        runs.append(("thread pool (--cluster-before)", old, ("foodcnn", "repro"), False))
    runs.append(("local Dask cluster", environment, ("foodcnn", "repro"), False))
    runs.append(("2 dask workers on 127.0.0.1", environment, ("foodcnn", "repro", "--scheduler"), True))
    for label, env, command, needs_workers in runs:
        with fresh_copy("foodcnn-bench-cluster-", keep) as project:
            if needs_workers:
                with two_workers(project) as address:
                    total, stages = timed_repro(project, env, (*command, address))
            else:
                total, stages = timed_repro(project, env, command)
        busy = sum(ran for _, ran, _ in phases(stages).values())
        print(f"   {label:32} {total:7.1f} s   ({len(stages)} stages, {busy:.0f} s of commands)")


def measure(repeats: int, before: Path | None, keep: bool) -> None:
    per_task(repeats)
    study(before, keep)
