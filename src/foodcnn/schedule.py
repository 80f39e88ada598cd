"""The plan of `foodcnn repro`: items taken in a plan's order once their upstream items are done, up to `jobs`
of their commands under way at once (launched as futures: Dask tasks, foodcnn.cluster), what they leave
recorded in the plan's order.

Plain Python, nothing of DVC or Dask: foodcnn.repro hands it DVC's stages and DVC's own per-stage steps.
"""

import os
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, wait
from enum import Enum
from typing import TypeVar

Item = TypeVar("Item", bound=Hashable)


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


def run_side_by_side(
    order: Sequence[Item],
    upstream: Mapping[Item, Collection[Item]],
    start: Callable[[Item], Start | Future],
    launch: Callable[[Item], Future],
    finish: Callable[[Item], None],
    record: Callable[[Item], None],
    jobs: int,
) -> list[Item]:
    """Take items in `order` once their upstream items are done: start(item) in this thread says what it needs,
    or returns a future when another process is making the same thing (start(item) comes again once that ends);
    launch(item) starts its command, up to `jobs` under way at once, and returns a future of its end;
    finish(item) follows in this thread for each command or restored item, as soon as it ends, and record(item)
    for each finished item in `order`, so that what record writes does not depend on which command ended first.
    Returns the finished items.

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
    waiting: dict[Future, Item] = {}  # items another process is making: their start comes again
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

    while pending or running or waiting:
        while failure is None and len(running) < jobs:
            ready = next((item for item in pending if all(u in done for u in upstream[item])), None)
            if ready is None:
                break
            pending.remove(ready)
            try:
                need = start(ready)
                if isinstance(need, Future):
                    waiting[need] = ready
                elif need is Start.RUN:
                    running[launch(ready)] = ready
            except Exception as error:  # the commands under way still end and are kept, as for a failed one
                failure = error
                break
            if need in (Start.SKIP, Start.DONE):
                complete(ready, need is Start.DONE)
        if not running and (failure is not None or not waiting):
            break
        ended, _ = wait([*running, *waiting], return_when=FIRST_COMPLETED)
        for future in ended:
            if future in waiting:
                item = waiting.pop(future)
                problem = future.exception()
                if problem is None:
                    pending.insert(0, item)  # its upstream is done: next to start
                elif failure is None:
                    failure = problem
                continue
            item = running.pop(future)
            problem = future.exception() if not future.cancelled() else CancelledError(f"{item} was cancelled")
            if problem is None:
                complete(item, True)
            elif failure is None:
                failure = problem
    if failure is not None:
        raise failure
    if pending:
        raise ValueError(f"items whose upstream never ended: {pending}")
    return finished
