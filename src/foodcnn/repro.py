"""`foodcnn repro`: the pipeline as `dvc repro` runs it, with independent stages side by side.

One process holds the repository lock and walks `dvc repro`'s own plan with DVC's own steps for each stage:
its changed check, the run-cache, saving, committing and writing dvc.lock. Only the stages' commands run
concurrently, each as soon as every stage it depends on is done, up to `jobs` at once. dvc.lock is written
in the plan's order whatever order the commands end in, so a run side by side leaves the same files as
`dvc repro` (every run computes on params.yaml's `threads`, however many share the machine).
"""

import logging
import os
import time
from collections.abc import Callable, Collection, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from pathlib import Path
from enum import Enum
from typing import TypeVar

from foodcnn.errors import FoodCnnError

Item = TypeVar("Item", bound=Hashable)
logger = logging.getLogger("dvc.foodcnn")


class Start(Enum):
    """What a stage needs once the stages it depends on are done."""

    SKIP = "unchanged"  # nothing to do, nothing to record
    DONE = "restored"  # its outputs came back from the run-cache: record it
    RUN = "run"  # its command must run: a job


def usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's share, not the whole machine)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_jobs(threads: int, cores: int) -> int:
    """Runs side by side so that runs x threads <= cores, at least one. On a GPU machine the runs share the
    device the same way; its CPU threads still bound them."""
    return max(1, cores // threads)


def run_side_by_side(order: Sequence[Item], upstream: Mapping[Item, Collection[Item]], start: Callable[[Item], Start],
                     command: Callable[[Item], None], finish: Callable[[Item], None], record: Callable[[Item], None],
                     jobs: int) -> list[Item]:
    """Take items in `order` once their upstream items are done: start(item) in this thread says what it needs;
    command(item) runs in a pool of `jobs` threads; finish(item) follows in this thread for each command or
    restored item, as soon as it ends, and record(item) for each finished item in `order`, so that what
    record writes does not depend on which command ended first. Returns the finished items.

    After a failed start or command nothing new starts; the commands under way end and are finished (their
    results kept for the next run), and then the first error is raised.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    done: set[Item] = set()
    finished: list[Item] = []
    recorded = 0
    pending = list(order)
    running: dict[Future, Item] = {}
    failure: BaseException | None = None

    def complete(item: Item, ran: bool) -> None:
        nonlocal recorded
        done.add(item)
        if ran:
            finish(item)
            finished.append(item)
        while recorded < len(order) and order[recorded] in done:
            if order[recorded] in finished:
                record(order[recorded])
            recorded += 1

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while pending or running:
            while failure is None and len(running) < jobs:
                ready = next((item for item in pending if all(u in done for u in upstream[item])), None)
                if ready is None:
                    break
                pending.remove(ready)
                try:
                    need = start(ready)
                except Exception as error:  # the commands under way still end and are kept, as for a failed one
                    failure = error
                    break
                if need is Start.RUN:
                    running[pool.submit(command, ready)] = ready
                else:
                    complete(ready, need is Start.DONE)
            if not running:
                break
            ended, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in ended:
                item = running.pop(future)
                if future.exception() is None:
                    complete(item, True)
                elif failure is None:
                    failure = future.exception()
    if failure is not None:
        raise failure
    if pending:
        raise ValueError(f"items whose upstream never ended: {pending}")
    return finished


def lock_holder(lockfile: Path) -> int | None:
    """The PID that DVC's repository lock file names: zc.lockfile writes it alone, flufl.lock (core.hardlink_lock)
    as the third field of its claim file's name; None when unreadable."""
    try:
        fields = lockfile.read_text().strip().split("|")
    except OSError:
        return None
    pid = fields[0] if len(fields) == 1 else fields[2] if len(fields) > 2 else ""
    return int(pid) if pid.isdigit() else None


@contextmanager
def repository_lock(repo) -> Iterator[None]:
    """DVC's lock of the repository, as `dvc repro` takes it; held by another run, one line saying which (DVC's
    LockError comes as three chained tracebacks)."""
    from dvc.lock import LockError
    from dvc.repo import lock_repo

    with ExitStack() as stack:
        try:
            stack.enter_context(lock_repo(repo))
        except LockError as error:
            lockfile = Path(repo.lock.lockfile)
            pid = lock_holder(lockfile)
            holder = f"another run (PID {pid})" if pid else "another run"
            raise FoodCnnError(f"{holder} holds this project's DVC lock ({os.path.relpath(lockfile)}): wait for it "
                               f"to end, then run again") from error
        yield


def reproduce(jobs: int, targets: Sequence[str] = ()) -> int:
    """Bring the pipeline (or the targets and what they depend on) up to date as `dvc repro` would, with up to
    `jobs` stage commands at once; returns how many stages ran or came back from the run-cache."""
    from dvc.exceptions import DvcException, NotDvcRepoError
    from dvc.repo import Repo
    from dvc.repo.reproduce import collect_stages, get_active_graph, plan_repro
    from dvc.stage.cache import RunCacheNotFoundError
    from dvc.stage.run import cmd_run

    try:
        repo = Repo()
    except NotDvcRepoError as error:
        raise FoodCnnError("not inside a DVC project: run `foodcnn repro` in the project's folder") from error
    with repo, repository_lock(repo), repo.scm_context:
        graph = get_active_graph(repo.index.graph)
        stages = collect_stages(repo, targets) if targets else None
        order = plan_repro(graph, stages)
        unsupported = [stage.addressing for stage in order if stage.frozen or not stage.cmd]
        if unsupported:
            raise FoodCnnError(f"foodcnn repro runs command stages only; use `dvc repro` for {unsupported}")
        # Saving an output adds its line to .gitignore; saved as the commands end, new lines would follow
        # whichever ended first (and a folder's .gitignore is in the hash of that folder as a dependency), so
        # they are written now, in the plan's order, where `dvc repro` one stage at a time puts them.
        for stage in order:
            for out in stage.outs:
                out.ignore()
        repo.scm._reset()  # git's ignore rules are read once and cached: re-read, or saving would add the lines again

        def start(stage) -> Start:
            # Stage.reproduce and run_stage, without run_stage's unlocking of the repository, which would let
            # the commands running in other threads reset this one's index; and without removing the outputs
            # before a command that may fail: every stage replaces its files only once it has their new
            # contents, so a failed run leaves the last results, still matching dvc.lock.
            if not stage.changed():
                logger.info("Stage '%s' didn't change, skipping", stage.addressing)
                return Start.SKIP
            stage.save_deps()
            if not in_run_cache(stage):
                return Start.RUN
            stage.remove_outs(ignore_remove=False, force=False)  # the run-cache's checkout takes their place
            repo.stage_cache.restore(stage)
            return Start.DONE

        def in_run_cache(stage) -> bool:
            # A dry restore, quiet: the real one says "is cached" once, as `dvc repro` does.
            cache_log = logging.getLogger("dvc.stage.cache")
            cache_log.disabled = True
            try:
                repo.stage_cache.restore(stage, dry=True)
                return True
            except RunCacheNotFoundError:
                return False
            finally:
                cache_log.disabled = False

        def command(stage) -> None:
            began = time.perf_counter()
            try:
                cmd_run(stage)
            except DvcException as error:
                raise FoodCnnError(f"stage '{stage.addressing}' {error}") from error
            # Lines of runs side by side interleave: this one says which run ended, and how long it took.
            logger.info("Stage '%s' took %.1f s", stage.addressing, time.perf_counter() - began)

        def finish(stage) -> None:
            # Stage.run after the command: outs with cache: false (other than metrics and plots) keep a stage
            # out of the run-cache.
            uncached = any(not out.use_cache for out in stage.outs if not (out.is_metric or out.is_plot))
            stage.save(run_cache=not uncached)
            stage.commit()

        try:
            finished = run_side_by_side(order, {stage: list(graph.successors(stage)) for stage in order}, start,
                                        command, finish, lambda stage: stage.dump(update_pipeline=False), jobs)
        except DvcException as error:
            raise FoodCnnError(str(error)) from error
    return len(finished)
