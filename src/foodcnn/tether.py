"""A stage command tethered to the Dask worker that runs it: on Linux, when the worker ends (killed outright,
its node lost), the whole command ends with it, its shell and every process under it. Otherwise Dask's retry
on another worker would race the orphan writing the same outputs.

Linux's parent-death signal reaches only the worker's direct child, and a shell such as dash forks the
command's programs instead of replacing itself with them; so the direct child is this small tether, which runs
the command in a process group of its own and kills that group when the signal comes.

    python -m foodcnn.tether WORKER_PID SHELL ARGUMENT...
"""

import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1
# Loaded here, not between fork and exec, where a threaded worker's child must not take the loader's lock.
LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def command_line(shell_command: list[str]) -> list[str]:
    """What a worker starts for a stage's shell command: the command itself where the tether cannot work."""
    if sys.platform != "linux":
        return shell_command
    return [sys.executable, "-m", "foodcnn.tether", str(os.getpid()), *shell_command]


def signal_when_parent_ends() -> None:
    """Run in the tether's process between fork and exec (the setting survives exec): SIGTERM when the worker's
    thread that started it ends."""
    if LIBC is not None:
        LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def run(worker_pid: int, shell_command: list[str]) -> int:
    """Run `shell_command` in a process group of its own and return its exit status as a shell reports it. On
    SIGTERM (the worker ended) kill the group and exit; pass SIGINT on (the tether stays in the worker's group,
    so Ctrl-C in the worker's terminal still stops the command)."""
    process: subprocess.Popen | None = None

    def end(signum: int, frame: object) -> None:
        if process is not None:
            os.killpg(process.pid, signal.SIGKILL)
        os._exit(128 + signum)

    def forward(signum: int, frame: object) -> None:
        if process is None:
            os._exit(128 + signum)
        os.killpg(process.pid, signum)

    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGINT, forward)
    if os.getppid() != worker_pid:  # the worker ended before the signal was armed
        return 128 + signal.SIGTERM
    # Signals wait while the group starts, so a handler always knows it; the command gets the usual mask.
    caught = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, caught)
    process = subprocess.Popen(
        shell_command, start_new_session=True, preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, caught)
    )
    signal.pthread_sigmask(signal.SIG_UNBLOCK, caught)
    returncode = process.wait()
    return 128 - returncode if returncode < 0 else returncode


if __name__ == "__main__":
    sys.exit(run(int(sys.argv[1]), sys.argv[2:]))
