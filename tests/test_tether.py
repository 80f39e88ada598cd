"""foodcnn.tether: a stage command, its shell and everything under it end when the worker that started it ends;
its exit status and Ctrl-C pass through. A dash-like shell forks the command's programs, so the tree is deep."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from foodcnn import tether

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")

# A shell that cannot replace itself with `sleep`: another command follows it.
TREE = ["/bin/sh", "-c", "sleep 300; echo never"]


def tethered(shell_command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        tether.command_line(shell_command), preexec_fn=tether.signal_when_parent_ends, stdout=subprocess.PIPE
    )


def sleeper_under(process: psutil.Process) -> psutil.Process:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [child for child in process.children(recursive=True) if child.name() == "sleep"]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("the command did not start")


def gone(process: psutil.Process, seconds: float = 60) -> bool:  # a guard against a hang, not a timing
    try:
        process.wait(timeout=seconds)
    except psutil.TimeoutExpired:
        return False
    return True


def test_the_whole_command_ends_with_the_worker_that_started_it(tmp_path):
    # A stand-in worker: a process that starts a tethered command, says its pid, and waits to be killed.
    worker_code = textwrap.dedent(f"""
        import subprocess, sys, time
        from foodcnn import tether
        process = subprocess.Popen(tether.command_line({TREE!r}), preexec_fn=tether.signal_when_parent_ends)
        print(process.pid, flush=True)
        time.sleep(300)
    """)
    worker = subprocess.Popen([sys.executable, "-c", worker_code], stdout=subprocess.PIPE, text=True)
    try:
        the_tether = psutil.Process(int(worker.stdout.readline()))
        sleeper = sleeper_under(the_tether)
        worker.kill()
        worker.wait()
        assert gone(sleeper), "the command outlived its worker"
        assert gone(the_tether)
    finally:
        worker.kill()


def test_the_commands_exit_status_is_the_shells():
    assert tethered(["/bin/sh", "-c", "exit 3"]).wait(timeout=30) == 3
    assert tethered(["/bin/sh", "-c", "kill -TERM $$"]).wait(timeout=30) == 128 + signal.SIGTERM
    process = tethered(["/bin/sh", "-c", "echo out"])
    assert process.communicate(timeout=30)[0] == b"out\n"


def test_ctrl_c_reaches_the_command_and_ends_it():
    process = tethered(TREE)
    sleeper = sleeper_under(psutil.Process(process.pid))
    os.kill(process.pid, signal.SIGINT)
    assert process.wait(timeout=30) == 128 + signal.SIGINT
    assert gone(sleeper)


def test_a_tether_whose_worker_has_already_ended_starts_nothing():
    result = subprocess.run(
        [sys.executable, "-m", "foodcnn.tether", "1", *TREE], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 128 + signal.SIGTERM and result.stdout == ""
