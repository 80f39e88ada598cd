"""`foodcnn exp run`: the experiment `dvc exp run -S ...` makes, its stages side by side; given a sweep in DVC's
syntax (`-S lr=0.001,0.01,0.1`, as `dvc exp run --queue` reads it), one experiment per combination, all side by
side (foodcnn.sweep).

An experiment is made in DVC's own steps, each in DVC's order, in the experiment's folder:
1. the -S values applied to the params files by DVC's `apply_overrides`, as `dvc exp run` applies them;
2. `dvc checkout --force --allow-missing`, which `dvc exp run` does before it reproduces;
3. `foodcnn repro`, in a process of its own: the stages side by side, every decision DVC's (foodcnn.repro);
4. `dvc exp run -n NAME`: every stage now up to date, it runs none and commits the workspace as the experiment,
   as it commits its own. (`dvc exp save` would not: it commits DVC's packed arguments, .dvc/tmp/repro.dat, with
   the files, and writes every stage into the run-cache, those whose outputs DVC does not cache too.)

Every combination's params.yaml is checked first, as the params stage checks it, so that a rejected value stops
with one line and changes nothing: `dvc exp run` alone brings the workspace to the experiment's pipeline before
the params stage runs, and a value that drops stages (`-S 'grid.model=[basic,basic]'`) has their outputs deleted
first.
"""

import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from foodcnn import cluster, params, sweep
from foodcnn.errors import FoodCnnError, ParamsError
from foodcnn.schedule import default_jobs, usable_cores

if TYPE_CHECKING:
    from scmrepo.git import Git

PARAMS = "params.yaml"
Overrides = sweep.Overrides


def combinations(set_params: list[str]) -> list[Overrides]:
    """The experiments `dvc exp run --queue -S ...` would queue: DVC's own expansion of the comma and range
    syntax (one combination, unchanged, when nothing sweeps)."""
    from dvc.exceptions import DvcException
    from dvc.utils.cli_parse import to_path_overrides
    from dvc.utils.hydra import get_hydra_sweeps
    from hydra.errors import HydraException

    try:
        return get_hydra_sweeps(to_path_overrides(set_params))
    except (DvcException, HydraException) as error:  # a malformed override, in DVC's or Hydra's first line
        raise ParamsError(f"invalid -S value in {' '.join(set_params)}: {str(error).splitlines()[0]}") from error


def check_overrides(overrides: list[str]) -> params.Params:
    """Apply the overrides to a copy of params.yaml as DVC would, and check the copy as the params stage does."""
    from dvc.exceptions import DvcException
    from dvc.utils.hydra import apply_overrides

    with tempfile.TemporaryDirectory() as folder:
        trial = Path(folder) / PARAMS
        shutil.copyfile(PARAMS, trial)
        try:
            apply_overrides(trial, overrides)
        except DvcException as error:  # a malformed or unknown override, in DVC's own words
            raise ParamsError(f"{error}: {' '.join(overrides)}") from error
        checked = params.load(trial)
        params.check_named_inputs(checked)
        return checked


def describe(overrides: Overrides) -> str:
    """The overrides as typed: `lr=0.01 dropout.p=[0.3]` (another params file's prefixed with its name)."""
    return " ".join(item if path == PARAMS else f"{path}:{item}" for path, items in overrides.items() for item in items)


def readable_name(overrides: Overrides) -> str:
    """A sweep experiment's name from its values, `lr-0.01_dropout.p-0.3`: what a git ref cannot hold made '-'."""
    parts = [re.sub(r"[^A-Za-z0-9._+]+", "-", item.lstrip("+~")).strip("-.") for item in describe(overrides).split()]
    return "_".join(parts) or "baseline"


def names(found: list[Overrides], name: str | None, scm: "Git", baseline: str) -> list[str]:
    """One experiment: NAME, or DVC's random name as `dvc exp run` gives; a sweep: NAME-1.. as `dvc exp run
    --queue -n NAME` numbers them, or each combination's values. Each must be new (no experiment of the baseline
    by that name) and a name DVC accepts."""
    from dvc.exceptions import InvalidArgumentError
    from dvc.repo.experiments.refs import ExpRefInfo
    from dvc.repo.experiments.utils import check_ref_format, get_random_exp_name

    if len(found) == 1:
        chosen = [name or get_random_exp_name(scm, baseline)]
    elif name:
        chosen = [f"{name}-{number}" for number in range(1, len(found) + 1)]
    else:
        chosen = [readable_name(overrides) for overrides in found]
    if len(set(chosen)) < len(chosen):
        raise FoodCnnError(f"two experiments would have the same name, in {chosen}: give each value once")
    for each in chosen:
        ref = ExpRefInfo(baseline, each)
        try:
            check_ref_format(scm, ref)
        except InvalidArgumentError as error:
            raise FoodCnnError(f"{error}: name it with -n") from error
        if scm.get_ref(str(ref)):
            raise FoodCnnError(f"experiment '{each}' exists already: `dvc exp remove {each}`, or name it with -n")
    return chosen


def run(set_params: list[str], name: str | None, jobs: int | None, scheduler: str | None) -> None:
    """Check every combination's params, then make its experiment: alone in the workspace as `dvc exp run` does,
    or, for a sweep, each in a workspace of its own, side by side, all their commands on one Dask cluster: the
    one at `scheduler`, or a local one with `jobs` threads."""
    from dvc.exceptions import NotDvcRepoError
    from dvc.repo import Repo

    if not Path(PARAMS).is_file():
        raise ParamsError(f"no {PARAMS} here: run `foodcnn exp run` in the project's folder")
    found = combinations(set_params)
    threads = max(check_overrides(overrides.get(PARAMS, [])).threads for overrides in found)
    total = default_jobs(threads, usable_cores()) if jobs is None else jobs
    if total < 1:
        raise FoodCnnError(f"--jobs must be at least 1 (got {total})")
    try:
        repo = Repo()
    except NotDvcRepoError as error:
        raise FoodCnnError("not inside a DVC project: run `foodcnn exp run` in the project's folder") from error
    with repo:
        baseline = repo.scm.get_rev()
        experiments = [
            sweep.Experiment(each, overrides, describe(overrides))
            for each, overrides in zip(names(found, name, repo.scm, baseline), found, strict=True)
        ]
        where = sweep.Where(Path(repo.root_dir), Path(repo.tmp_dir) / "foodcnn-exp", repo.cache.local_cache_dir)
    if scheduler is not None or len(experiments) == 1:
        sweep.make_all(experiments, where, total, scheduler)
        return
    with cluster.shared_local_scheduler(total) as address:
        sweep.make_all(experiments, where, total, address)
