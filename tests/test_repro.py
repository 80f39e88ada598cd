"""`foodcnn repro`: the scheduler on its own, then the command against sequential `dvc repro`."""

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

import pytest

from foodcnn.repro import lock_holder
from foodcnn.schedule import Start, default_jobs, run_side_by_side
from tests.conftest import REPO
from tests.project import TINY, attempt, copy_project, git


class Recorder:
    """The callbacks of run_side_by_side, noting what ran, when, and how many commands were running at once."""

    def __init__(
        self,
        needs: dict[str, Start] | None = None,
        fail_start: str | None = None,
        fail_command: str | None = None,
        durations: dict[str, float] | None = None,
        waits: dict[str, Future] | None = None,
    ) -> None:
        self.needs, self.durations, self.waits = needs or {}, durations or {}, waits or {}
        self.fail_start, self.fail_command = fail_start, fail_command
        self.lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.started: list[str] = []
        self.ended: list[str] = []
        self.finished: list[str] = []
        self.recorded: list[str] = []

    def start(self, item: str) -> Start | Future:
        self.started.append(item)
        if item == self.fail_start:
            raise RuntimeError(f"{item} cannot start")
        if item in self.waits:  # another process is making it, the first time it is asked
            return self.waits.pop(item)
        return self.needs.get(item, Start.RUN)

    def command(self, item: str) -> None:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(self.durations.get(item, 0.05))
        with self.lock:
            self.running -= 1
            self.ended.append(item)
        if item == self.fail_command:
            raise RuntimeError(f"{item} failed")

    def run(self, order: list[str], upstream: dict[str, list[str]], jobs: int) -> list[str]:
        # A pool with a thread per item: only run_side_by_side bounds how many commands run at once.
        with ThreadPoolExecutor(max_workers=len(order)) as pool:
            return run_side_by_side(
                order,
                upstream,
                self.start,
                partial(pool.submit, self.command),
                self.finished.append,
                self.recorded.append,
                jobs,
            )


def test_records_in_the_plans_order_whichever_command_ends_first():
    recorder = Recorder(durations={"a": 0.3, "b": 0.2, "c": 0.01})
    recorder.run(["a", "b", "c"], {"a": [], "b": [], "c": []}, jobs=3)
    assert recorder.ended == ["c", "b", "a"]
    assert recorder.finished == ["c", "b", "a"]
    assert recorder.recorded == ["a", "b", "c"]


def test_runs_up_to_jobs_commands_at_once_and_each_only_after_its_upstream():
    # prepare -> six runs -> selection -> two runs -> report, as the study's graph is shaped
    runs, finals = [f"train{i}" for i in range(6)], ["dropout0", "dropout1"]
    order = ["prepare", *runs, "selection", *finals, "report"]
    upstream = {
        "prepare": [],
        **{run: ["prepare"] for run in runs},
        "selection": runs,
        **{final: ["selection"] for final in finals},
        "report": finals,
    }
    recorder = Recorder()
    finished = recorder.run(order, upstream, jobs=2)
    assert recorder.most_at_once == 2
    for item, before in upstream.items():
        assert all(recorder.ended.index(u) < recorder.started.index(item) for u in before), item
    assert sorted(finished) == sorted(order) and recorder.recorded == order


def test_one_job_runs_the_commands_one_at_a_time():
    recorder = Recorder()
    recorder.run(["a", "b", "c"], {"a": [], "b": [], "c": []}, jobs=1)
    assert recorder.most_at_once == 1


def test_an_unchanged_stage_is_neither_run_nor_recorded_and_a_restored_one_is_recorded_without_running():
    recorder = Recorder(needs={"a": Start.SKIP, "b": Start.DONE})
    finished = recorder.run(["a", "b", "c"], {"a": [], "b": ["a"], "c": ["b"]}, jobs=2)
    assert recorder.ended == ["c"]
    assert finished == recorder.finished == recorder.recorded == ["b", "c"]


def test_an_item_another_process_is_making_waits_without_taking_a_job_and_starts_again_once_it_is_made():
    elsewhere: Future = Future()
    recorder = Recorder(waits={"b": elsewhere}, durations={"a": 0.4, "c": 0.4})
    threading.Timer(0.1, elsewhere.set_result, [None]).start()
    finished = recorder.run(["a", "b", "c"], {"a": [], "b": [], "c": []}, jobs=2)
    assert recorder.started == ["a", "b", "c", "b"]  # c took the job b did not; b started again, after a or c
    assert recorder.most_at_once == 2
    assert sorted(finished) == ["a", "b", "c"] and recorder.recorded == ["a", "b", "c"]


def test_a_failed_wait_is_raised_and_the_item_never_starts_again():
    elsewhere: Future = Future()
    elsewhere.set_exception(RuntimeError("the scheduler is gone"))
    recorder = Recorder(waits={"b": elsewhere})
    with pytest.raises(RuntimeError, match="the scheduler is gone"):
        recorder.run(["a", "b"], {"a": [], "b": []}, jobs=2)
    assert recorder.started == ["a", "b"] and recorder.finished == ["a"]


def test_a_stage_that_cannot_start_stops_new_starts_lets_the_running_finish_and_is_raised():
    recorder = Recorder(fail_start="b", durations={"a": 0.3})
    with pytest.raises(RuntimeError, match="b cannot start"):
        recorder.run(["a", "b", "c"], {"a": [], "b": [], "c": []}, jobs=2)
    assert recorder.started == ["a", "b"]
    assert recorder.finished == ["a"] == recorder.recorded


def test_a_failed_command_stops_new_starts_lets_the_running_finish_and_is_raised():
    recorder = Recorder(fail_command="a", durations={"a": 0.05, "b": 0.3})
    with pytest.raises(RuntimeError, match="a failed"):
        recorder.run(["a", "b", "c"], {"a": [], "b": [], "c": []}, jobs=2)
    assert recorder.started == ["a", "b"]
    assert recorder.finished == ["b"]
    assert recorder.recorded == []  # b stays out of dvc.lock until a, before it in the plan, is recorded


@pytest.mark.parametrize(("threads", "cores", "jobs"), [(1, 2, 2), (2, 2, 1), (4, 2, 1), (1, 64, 64), (3, 16, 5)])
def test_default_jobs_keep_runs_times_threads_within_the_cores(threads, cores, jobs):
    assert default_jobs(threads, cores) == jobs


def test_fewer_than_one_job_is_one_line_naming_the_option():
    result = subprocess.run(
        [sys.executable, "-m", "foodcnn", "repro", "--jobs", "0"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr == "error: --jobs must be at least 1 (got 0)\n"


def test_a_run_while_another_holds_the_projects_lock_is_one_line_naming_its_pid_and_changes_nothing(tmp_path):
    from dvc.repo import Repo

    project = copy_project(tmp_path / "project", TINY)
    before = git(project, "status", "--porcelain", "--untracked-files=all")
    with Repo(str(project)) as repo, repo.lock:  # as a `make repro` under way holds it, in this process
        result = attempt(project, sys.executable, "-m", "foodcnn", "repro")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == (
        f"error: another run (PID {os.getpid()}) holds this project's DVC lock "
        f"({os.path.join('.dvc', 'tmp', 'lock')}): wait for it to end, then run again\n"
    )
    assert git(project, "status", "--porcelain", "--untracked-files=all") == before


@pytest.mark.parametrize(
    ("text", "pid"),
    [
        (" 4242\n", 4242),  # zc.lockfile, DVC's default
        ("/p/.dvc/tmp/lock|host|4242|318", 4242),  # flufl.lock's claim file name (core.hardlink_lock)
        ("", None),
    ],
)
def test_the_lock_files_pid_is_read_as_either_lock_writes_it(tmp_path, text, pid):
    (tmp_path / "lock").write_text(text)
    assert lock_holder(tmp_path / "lock") == pid
    assert lock_holder(tmp_path / "absent") is None


def test_a_stage_without_outputs_comes_before_every_later_stage_of_the_plan_and_waits_for_its_own_deps():
    import networkx as nx

    from foodcnn.repro import upstream

    class Stage:
        def __init__(self, name: str, outs: list[str]):
            self.name, self.outs = name, outs

        def __repr__(self) -> str:
            return self.name

    check, data, train, report = (
        Stage("check", []),
        Stage("data", ["d"]),
        Stage("train", ["m"]),
        Stage("report", ["r"]),
    )
    graph = nx.DiGraph([(train, data), (report, train)])  # DVC's edges: a stage -> the stages it reads from
    graph.add_node(check)
    waits = upstream([data, check, train, report], graph)
    assert waits == {data: [], check: [], train: [data, check], report: [train, check]}
