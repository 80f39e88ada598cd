"""`foodcnn repro`: the pipeline as `dvc repro` runs it, with independent stages' commands side by side.

One process, the driver, holds DVC's repository lock and walks `dvc repro`'s own plan (`plan_repro`). Every
decision (does a stage change, does the run-cache hold its run, what is saved, what dvc.lock records) is taken
by DVC's own functions, called in DVC's order; only the commands run concurrently, as tasks on a Dask cluster
(foodcnn.cluster: a local one, or the scheduler at `--scheduler`), each computing on params.yaml's `threads`,
so the files are those of a sequential `dvc repro`.

What is copied from DVC 3.67.1 (`_reproduce_stage`, `Stage.reproduce`, `Stage.run`, `run_stage`), step by step,
and each departure with its reason. This is the one place that re-states DVC; tests/test_repro_flows.py runs
the everyday flows through both and compares the files.
1. `stage.changed()`; an unchanged stage is skipped.                                              [as DVC]
2. `remove_outs`, then `StageCache.restore(stage)`: with the deps as dvc.lock recorded them, restore chooses
   its entry (deps unchanged: the stage as locked; else it saves the deps and looks up their key) and checks
   the outputs out.                  [as DVC, except that the outputs are moved aside rather than deleted,
   and put back when the run-cache has nothing, so that a command that then fails leaves the last results,
   which still match dvc.lock]
3. On a miss, `save_deps()`, then `cmd_run`.                                                       [as DVC,
   except that the commands run as a Dask task (foodcnn.cluster.run_commands: DVC's shell and environment
   variables, in the worker's environment), while the driver keeps the lock: `unlocked_repo` would let the
   stage commands' own DVC calls race this process's index]
4. Once the command ends (or the restore is done): `save(run_cache=...)` and `commit()`.            [as DVC]
5. `dump(update_pipeline=False)`, in the plan's order whichever command ended first.        [order only]
And before any command, each output's .gitignore line, in the plan's order (below). A stage without outputs
(the params stage's checks and clean-up) runs before every later stage of the plan, as it does in `dvc repro`'s
order: no file makes another stage wait for it, so only its place in the plan says it comes first. [order only]

Before 2, a stage's run is claimed on the cluster by its run-cache key (foodcnn.claims), computed with the
stage left as it was; while another `foodcnn repro` of the same run-cache holds the claim (a sweep's other
experiment), this one waits and then starts again at 2, where the run-cache now has the run.   [not in DVC]

The order of 2 and 3 is the point: deps saved before the restore look unchanged, so restore takes its first
branch and pairs the new parameters with the old outputs, and step 4 then writes that pairing into the
run-cache. Versions 62ab999 to ea58acc did so (docs/team.md: finding and dropping such entries).
"""

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import CancelledError, Future
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from foodcnn import cluster
from foodcnn.claims import Claims
from foodcnn.errors import FoodCnnError
from foodcnn.schedule import Start, run_side_by_side

if TYPE_CHECKING:  # DVC is imported when a command runs, not with this module
    import networkx
    from dvc.repo import Repo
    from dvc.stage import Stage

logger = logging.getLogger("dvc.foodcnn")


@contextmanager
def outputs_set_aside(stage: "Stage", folder: Path) -> Iterator[None]:
    """DVC's `remove_outs` before a run-cache restore, undone unless the block ends well: each output is moved
    into `folder` (on the repository's file system, so a rename) and, when the block raises, whatever the
    restore left in its place goes and the output comes back."""
    moved: list[tuple[Path, Path]] = []
    for out in stage.outs:
        path = Path(out.fs_path)
        if out.persist or not os.path.lexists(path):  # remove_outs leaves persistent outputs alone
            continue
        aside = folder / str(len(moved))
        os.replace(path, aside)
        moved.append((path, aside))
    try:
        yield
    except BaseException:
        for path, aside in moved:
            remove(path)
            os.replace(aside, path)
        raise


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def run_cache_entry(stage: "Stage") -> tuple[Path, dict]:
    """The run-cache entry that holds a stage's saved run, as `StageCache.save` names it, and its parameters."""
    import yaml
    from dvc.stage.cache import _get_cache_hash, _get_stage_hash
    from dvc.stage.serialize import to_single_stage_lockfile

    key, value = _get_stage_hash(stage), _get_cache_hash(to_single_stage_lockfile(stage))
    path = Path(stage.repo.stage_cache._get_cache_path(key, value))
    entry = yaml.safe_load(path.read_text()) if path.exists() else {}
    return path, {name: value for values in entry.get("params", {}).values() for name, value in values.items()}


def upcoming_run_key(stage: "Stage") -> str | None:
    """The run-cache key of the run the stage needs, from its deps as they are now; None where the run-cache
    does not apply. The stage is left as it was: deps saved before the restore would pair the new parameters
    with the old outputs (step 2)."""
    from dvc.exceptions import DvcException
    from dvc.stage.cache import _can_hash, _get_stage_hash

    kept = [vars(dep).copy() for dep in stage.deps]
    try:
        stage.save_deps()
        return _get_stage_hash(stage) if _can_hash(stage) else None
    except DvcException:  # a dep is missing: step 2 or the command says so
        return None
    finally:
        for dep, state in zip(stage.deps, kept, strict=True):
            vars(dep).clear()
            vars(dep).update(state)


def describe(values: dict) -> str:
    """Parameters as `name=value`, nested mappings flattened: train.augment.flip=True."""

    def flat(prefix: str, value: object) -> list[str]:
        if isinstance(value, dict):
            return [item for key, inner in value.items() for item in flat(f"{prefix}.{key}", inner)]
        return [f"{prefix}={value}"]

    return ", ".join(item for name, value in values.items() for item in flat(name, value))


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
def repository_lock(repo: "Repo") -> Iterator[None]:
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
            raise FoodCnnError(
                f"{holder} holds this project's DVC lock ({os.path.relpath(lockfile)}): wait for it "
                f"to end, then run again"
            ) from error
        yield


def upstream(order: list["Stage"], graph: "networkx.DiGraph") -> dict["Stage", list["Stage"]]:
    """Per stage of the plan, the stages it waits for: those whose outputs it reads, and every stage without
    outputs that comes before it in the plan."""
    checks: list[Stage] = []
    waits: dict[Stage, list[Stage]] = {}
    for stage in order:
        waits[stage] = [*graph.successors(stage), *checks]
        if not stage.outs:
            checks.append(stage)
    return waits


def reproduce(jobs: int | None, targets: Sequence[str] = (), scheduler: str | None = None) -> int:
    """Bring the pipeline (or the targets and what they depend on) up to date as `dvc repro` would, the stage
    commands run on the Dask cluster at `scheduler` (default: a local one with `jobs` threads), up to `jobs` at
    once (default: the threads of the cluster's workers); returns how many stages ran or came back from the
    run-cache."""
    from dvc.exceptions import DvcException, NotDvcRepoError
    from dvc.repo import Repo
    from dvc.repo.reproduce import collect_stages, get_active_graph, plan_repro
    from dvc.stage.cache import RunCacheNotFoundError
    from dvc.stage.run import _enforce_cmd_list

    try:
        repo = Repo()
    except NotDvcRepoError as error:
        raise FoodCnnError("not inside a DVC project: run `foodcnn repro` in the project's folder") from error
    if scheduler is None and jobs is None:
        raise ValueError("a local cluster needs a number of jobs")
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
                Path(out.fs_path).parent.mkdir(parents=True, exist_ok=True)  # its command would make it anyway
                out.ignore()
        repo.scm._reset()  # git's ignore rules are read once and cached: re-read, or saving would add the lines again
        restored: set = set()
        claimed: dict[Stage, str] = {}

        def start(stage: "Stage") -> Start | Future:  # steps 1 to 3 but the command
            if not stage.changed():
                logger.info("Stage '%s' didn't change, skipping", stage.addressing)
                return Start.SKIP
            key = upcoming_run_key(stage)
            if key is not None:
                if (elsewhere := claims.take(key)) is not None:
                    logger.info("Stage '%s' waits: another run on this cluster is making it", stage.addressing)
                    return elsewhere
                claimed[stage] = key
            try:
                with tempfile.TemporaryDirectory(dir=repo.tmp_dir, prefix="outputs-aside-") as folder:
                    with outputs_set_aside(stage, Path(folder)):
                        repo.stage_cache.restore(stage)
            except RunCacheNotFoundError:
                stage.save_deps()
                return Start.RUN
            restored.add(stage)
            return Start.DONE

        began: dict[Stage, float] = {}

        def launch(stage: "Stage") -> Future:  # step 3's command, on the cluster
            logger.info("Running stage '%s':", stage.addressing)
            began[stage] = time.perf_counter()
            wanted = (stage.meta or {}).get("resources", {})
            return workers.submit(stage.addressing, _enforce_cmd_list(stage.cmd), stage.wdir, wanted)

        def finish(stage: "Stage") -> None:  # step 4
            if stage in began:  # lines of runs side by side interleave: this one says which run ended, and when
                logger.info("Stage '%s' took %.1f s", stage.addressing, time.perf_counter() - began[stage])
            # Outputs with cache: false (other than metrics and plots) keep a stage out of the run-cache.
            uncached = any(not out.use_cache for out in stage.outs if not (out.is_metric or out.is_plot))
            stage.save(run_cache=not uncached)
            stage.commit()
            if stage in claimed:  # saved in the run-cache: a run waiting for it restores it
                claims.let_go(claimed.pop(stage))
            if stage in restored:  # say what was reused, so that a person can check it
                path, values = run_cache_entry(stage)
                logger.info(
                    "Stage '%s' restored the run of %s (run-cache entry %s)",
                    stage.addressing,
                    describe(values),
                    os.path.relpath(path, repo.root_dir),  # the cache may be elsewhere (`dvc cache dir`)
                )

        with cluster.connect(scheduler, jobs or 1, Path(repo.root_dir)) as workers:
            claims = Claims(workers.client, repo.stage_cache.cache_dir)
            try:
                finished = run_side_by_side(
                    order,
                    upstream(order, graph),
                    start,
                    launch,
                    finish,
                    lambda stage: stage.dump(update_pipeline=False),
                    jobs or workers.slots(),
                )
            except DvcException as error:
                raise FoodCnnError(str(error)) from error
            except CancelledError as error:
                raise workers.lost() from error
            finally:
                claims.let_go_of_all()
    return len(finished)
