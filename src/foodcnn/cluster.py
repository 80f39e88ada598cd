"""Where `foodcnn repro` runs stage commands: a Dask cluster, the one at an address or a local one.

The driver (foodcnn.repro) keeps every DVC decision; a worker only runs a stage's shell commands in the shared
clone, as DVC's `cmd_run` would (its shell, DVC_ROOT and DVC_STAGE), and sends their output back line by line.
Workers share the repository's file system, as on a cluster's shared home or NFS: before a worker gets a task it
proves that it sees the same repository (same path, same dvc.lock); one that does not is named and left out.
"""

import hashlib
import logging
import subprocess
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foodcnn import tether
from foodcnn.errors import FoodCnnError

if TYPE_CHECKING:  # distributed is imported when a cluster is used, not with this module
    from distributed import Client, LocalCluster

logger = logging.getLogger("dvc.foodcnn")

OUTPUT_TOPIC = "foodcnn-stage-output"
CONNECT_TIMEOUT_S = 5


class StageCommandFailed(FoodCnnError):
    """A stage's command exited with an error on a worker."""


def file_digest(path: Path) -> str | None:
    try:
        return hashlib.md5(path.read_bytes()).hexdigest()
    except OSError:
        return None


def repository_seen(root: str, lock_digest: str | None, code: str) -> str | None:
    """Run on a worker: why it does not see the driver's repository at `root`, or None when it does. It must have
    been started in the project's folder (or in the DVC project that holds it, as the project of a sweep's
    workspaces does) on a host that sees the clone at the same path, with the same dvc.lock,
    and its Python must import foodcnn from where the driver's does (`code`: another clone's environment would
    run that clone's code)."""
    project, here = Path(root).resolve(), Path.cwd().resolve()
    inside = here == project or project in here.parents
    holding = (here / ".dvc").is_dir() and here in project.parents  # a sweep's workspaces lie under .dvc/tmp
    if not (inside or holding):
        return f"was started in {here}, not in the project's folder"
    if file_digest(project / "dvc.lock") != lock_digest:
        return "sees another dvc.lock"
    if foodcnn_code() != code:
        return f"imports foodcnn from {foodcnn_code()}, not {code}"
    return None


def foodcnn_code() -> str:
    import foodcnn

    return str(Path(foodcnn.__file__).resolve().parent)


def without_nanny_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment a worker was started with, where its nanny (`dask worker`'s default) has set Dask's tuning
    for Dask's own tasks before starting it: `distributed.nanny.pre-spawn-environ` and PYTHONHASHSEED. A stage's
    command must not inherit it: the MALLOC_TRIM_THRESHOLD_ alone made a training command take 1.75 times the CPU
    (glibc then maps and unmaps each large tensor: 14 times the page faults). A variable that the user set to the
    very value Dask sets is dropped too, since nothing tells the two apart; a value of the user's own is kept, as
    the nanny keeps it."""
    import dask
    import distributed  # noqa: F401  (its defaults enter dask's config when it is imported)

    settings = dask.config.get("distributed.nanny.pre-spawn-environ")
    dasks = {name: str(value) for name, value in settings.items() if value is not None} | {"PYTHONHASHSEED": "6640"}
    return {name: value for name, value in environ.items() if dasks.get(name) != value}


def run_commands(stage: str, commands: list[str], cwd: str, root: str) -> None:
    """Run on a worker: a stage's commands as DVC's `cmd_run` runs them (the worker's environment, its shell
    without profiles, DVC_ROOT and DVC_STAGE), each output line sent to the driver as it comes."""
    from distributed import get_worker
    from dvc.env import DVC_ROOT, DVC_STAGE
    from dvc.stage.run import _make_cmd, get_executable
    from dvc.utils import fix_env

    worker = get_worker()
    started_with = without_nanny_settings(fix_env(None)) if worker.nanny else fix_env(None)
    env = {**started_with, DVC_ROOT: root, DVC_STAGE: stage}
    for command in commands:
        with subprocess.Popen(
            tether.command_line(_make_cmd(get_executable(), command)),
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=tether.signal_when_parent_ends,
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                worker.log_event(OUTPUT_TOPIC, (stage, line.rstrip("\n")))
        if process.returncode != 0:
            raise StageCommandFailed(
                f"stage '{stage}' failed: `{command}` exited with {process.returncode} on {worker.address}"
            )


def task_resources(wanted: Mapping[str, float], offered: Mapping[str, float]) -> dict[str, float]:
    """The resources a stage's task asks for: those of its `meta: resources` that some worker offers. A stage
    that wants a GPU runs on a GPU worker's slot where the cluster has them, and like any other where it has none
    (the training code then takes the CPU)."""
    return {name: amount for name, amount in wanted.items() if name in offered}


@dataclass
class Cluster:
    """A connected Dask client and the workers known to see this repository."""

    client: "Client"
    address: str
    root: str
    verified: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    offered: dict[str, float] = field(default_factory=dict)

    def check_workers(self) -> None:
        """Verify the workers not seen before; name each one that does not see this repository, once."""
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        new = [address for address in workers if address not in self.verified | self.refused]
        if not new:
            return
        seen = self.client.run(
            # dvc.lock as this driver has it now: it changes as stages end, and a worker may join mid-run
            repository_seen,
            self.root,
            file_digest(Path(self.root) / "dvc.lock"),
            foodcnn_code(),
            workers=new,
            on_error="return",
        )
        for address in new:
            why = seen.get(address, "did not answer")
            if why is None:
                self.verified.add(address)
                for name, amount in workers[address].get("resources", {}).items():
                    self.offered[name] = self.offered.get(name, 0) + amount
                continue
            self.refused.add(address)
            if isinstance(why, BaseException):
                why = f"could not check it ({type(why).__name__}: {why})"
            logger.warning("Dask worker %s %s (%s): it gets no task (docs/cluster.md)", address, why, self.root)
        if not self.verified:
            raise FoodCnnError(f"no worker of the Dask cluster sees this project at {self.root}: nothing can run")

    def slots(self) -> int:
        """Commands at once: the threads of the verified workers."""
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        return sum(workers[address]["nthreads"] for address in self.verified if address in workers) or 1

    def lost(self) -> FoodCnnError:
        """The one line for a run whose tasks the cluster dropped: the scheduler is gone."""
        return FoodCnnError(
            f"lost the Dask scheduler at {self.address}: the stages that ended are kept (in the run-cache, and in "
            f"dvc.lock up to the first unfinished one); run again to go on"
        )

    def submit(self, stage: str, commands: list[str], cwd: str, wanted: Mapping[str, float]) -> Future:
        """The stage's commands as one task on a verified worker; a concurrent.futures Future of its end."""
        if self.client.status != "running":
            raise self.lost()
        self.check_workers()
        executor = self.client.get_executor(
            workers=sorted(self.verified),
            allow_other_workers=False,
            resources=task_resources(wanted, self.offered) or None,
            pure=False,
        )
        return executor.submit(run_commands, stage, commands, cwd, self.root)


def print_output(event: tuple[float, Any]) -> None:
    """A line of a stage's command, on the driver's terminal, after the stage's name (runs side by side
    interleave their lines)."""
    _, (stage, line) = event
    print(f"[{stage}] {line}", flush=True)


@contextmanager
def quiet_dask() -> Iterator[None]:
    """Dask's own loggers say only what is critical: a lost worker or scheduler is told in one line by foodcnn.
    distributed sets levels of its own on its modules' loggers, so each is quieted, not only the parent."""
    import distributed  # noqa: F401  (its loggers exist once it is imported)

    names = [name for name in logging.root.manager.loggerDict if name.split(".")[0] in ("distributed", "tornado")]
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def local_cluster(threads: int, protocol: str) -> "LocalCluster":
    """A scheduler and one worker with `threads` threads in this process, reached in-process ("inproc") or by
    other processes of this host ("tcp", on 127.0.0.1). The worker's folder is this process's."""
    from distributed import LocalCluster

    # Dask's scheduler always serves HTTP (its dashboard, health): on a free port of this host only.
    return LocalCluster(
        n_workers=1,
        threads_per_worker=threads,
        processes=False,
        protocol=protocol,
        host="127.0.0.1" if protocol == "tcp" else None,
        dashboard_address="127.0.0.1:0",
    )


@contextmanager
def shared_local_scheduler(threads: int) -> Iterator[str]:
    """A local cluster that other processes of this host use (a sweep's experiments, each its own `foodcnn
    repro`), while the block runs; its address."""
    with quiet_dask(), local_cluster(threads, "tcp") as local:
        yield local.scheduler_address


@contextmanager
def connect(address: str | None, threads: int, root: Path) -> Iterator[Cluster]:
    """A cluster for this run: the scheduler at `address`, or a local cluster in this process with `threads`
    worker threads (each runs one stage command at a time, in a process of its own)."""
    from distributed import Client

    with quiet_dask():
        if address is None:
            with local_cluster(threads, "inproc") as local, Client(local) as client:
                yield start(client, str(root))
            return
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT_S)
        except ValueError as error:
            raise FoodCnnError(f"--scheduler {address} is not a Dask scheduler's address (tcp://host:8786)") from error
        except (OSError, TimeoutError) as error:
            raise FoodCnnError(
                f"no Dask scheduler answers at {address} within {CONNECT_TIMEOUT_S} s: start one (`dask scheduler`) "
                f"or check the address (docs/cluster.md)"
            ) from error
        except Exception as error:  # something answered, but not in Dask's protocol (a web server, a proxy)
            raise FoodCnnError(
                f"what answers at {address} is not a Dask scheduler ({type(error).__name__}): check the address "
                f"(docs/cluster.md)"
            ) from error
        with client:
            yield start(client, str(root))


def start(client: "Client", root: str) -> Cluster:
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except TimeoutError as error:
        raise FoodCnnError(
            f"the Dask scheduler at {client.scheduler.address} has no worker after {CONNECT_TIMEOUT_S} s: start one "
            f"in the project's folder (`dask worker ADDRESS`)"
        ) from error
    client.subscribe_topic(OUTPUT_TOPIC, print_output)
    cluster = Cluster(client, client.scheduler.address, root)
    cluster.check_workers()
    return cluster
