"""A stage's run claimed on the Dask cluster, so that it is made once: when several `foodcnn repro` share a
cluster and a run-cache (a sweep's experiments, clones that share a DVC cache), the first to need a run of a
stage from given inputs makes it, and the others wait for it and then restore it from the run-cache.

A claim is a Dask lock named by the run-cache and the run's key in it, held from before the run-cache is read
until the run is saved there (or the `foodcnn repro` holding it ends). Dask drops the lock of a process that
stops answering (`distributed.scheduler.locks.lease-timeout`, 30 s): a killed driver blocks no one for long.
"""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from distributed import Client, Lock

T = TypeVar("T")
POLL_S = 5  # how often a waiting claim checks that the scheduler is still there


class Claims:
    def __init__(self, client: "Client", run_cache: str) -> None:
        self.client = client
        self.run_cache = run_cache
        self.held: dict[str, Lock] = {}

    def lock(self, key: str) -> "Lock":
        from distributed import Lock

        name = f"foodcnn-run {self.run_cache} {key}"
        return Lock(name, scheduler_rpc=self.client.scheduler, loop=self.client.loop)

    def take(self, key: str) -> Future | None:
        """None when this process now holds the claim on the run of `key`; otherwise a future that ends when the
        process holding it lets go."""
        lock = self.lock(key)
        with scheduler_asked():
            acquired = lock.acquire(blocking=False)
        if acquired:
            self.held[key] = lock
            return None
        return in_thread(lambda: self.freed(lock))

    def freed(self, lock: "Lock") -> None:
        with scheduler_asked():
            while not lock.acquire(timeout=POLL_S):
                if self.client.status != "running":
                    raise CancelledError("the Dask scheduler is gone")
            lock.release()

    def let_go(self, key: str) -> None:
        lock = self.held.pop(key, None)
        if lock is not None:
            with scheduler_asked():
                lock.release()

    def let_go_of_all(self) -> None:
        """At the end of a run, whatever happened: a scheduler already gone holds nothing."""
        for key in list(self.held):
            with suppress(Exception):
                self.let_go(key)


@contextmanager
def scheduler_asked() -> Iterator[None]:
    """A lock call to the scheduler: a scheduler gone mid-call (Dask's CommClosedError, an OSError) is the same
    CancelledError as a task the cluster dropped, which `foodcnn repro` turns into its one line."""
    try:
        yield
    except OSError as error:
        raise CancelledError("the Dask scheduler is gone") from error


def in_thread(function: Callable[[], T]) -> "Future[T]":
    """`function()` in a thread of its own, as a future; the thread does not keep the process alive."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(function())
        except BaseException as error:
            future.set_exception(error)

    threading.Thread(target=run, daemon=True).start()
    return future
