"""The team's DVC remote: push and pull data, models and the run-cache, with one-line errors.

`dvc push --run-cache` sends the run-cache entries but not the outputs they record unless the workspace's
dvc.lock uses them too, and never the metrics and plots files of `cache: false` (DVC 3.67). A teammate
could then not restore such a stage: push also sends every output the local run-cache records.
"""

import subprocess
import sys
from pathlib import Path

from dvc.config import NoRemoteError
from dvc.data_cloud import Remote
from dvc.exceptions import DvcException
from dvc.repo import Repo

from foodcnn.errors import RemoteError

SET_URL = "dvc remote modify --local {name} url <path or URL>"


def describe(remote: Remote) -> str:
    return f"DVC remote '{remote.name}' ({remote.fs.unstrip_protocol(remote.path)})"


def default_remote(repo: Repo) -> Remote:
    """The remote that plain `dvc push` and `dvc pull` use."""
    try:
        return repo.cloud.get_remote()
    except NoRemoteError as error:
        raise RemoteError("no default DVC remote: add one with `dvc remote add -d <name> <path or URL>`") from error
    except DvcException as error:
        raise RemoteError(f"the default DVC remote cannot be used: {error}") from error


def check_pullable(remote: Remote) -> None:
    """Stop, before anything changes, when the remote is missing, empty or unreachable."""
    try:
        exists = remote.fs.exists(remote.path)
        empty = not exists or next(iter(remote.fs.find(remote.path)), None) is None
    except (OSError, DvcException) as error:
        raise RemoteError(f"cannot reach {describe(remote)}: {error}; check the URL and credentials "
                          f"({SET_URL.format(name=remote.name)})") from error
    if not exists:
        raise RemoteError(f"{describe(remote)} does not exist: run `make push` in the clone that ran the "
                          f"pipeline, or point it at the team's remote ({SET_URL.format(name=remote.name)})")
    if empty:
        raise RemoteError(f"{describe(remote)} is empty: run `make push` in the clone that ran the pipeline, "
                          f"or `make repro` here")


def check_pushable(remote: Remote) -> None:
    """Create the remote's folder when missing (a local path), or stop when it cannot be reached."""
    try:
        remote.fs.makedirs(remote.path, exist_ok=True)
    except (OSError, DvcException) as error:
        raise RemoteError(f"cannot reach {describe(remote)}: {error}; check the URL and credentials "
                          f"({SET_URL.format(name=remote.name)})") from error


def run_cache_entries(repo: Repo) -> list[tuple[str, str]]:
    """The (stage key, entry) pairs of the local run-cache, as `dvc push --run-cache` sends them."""
    return [(path.parent.name, path.name) for path in Path(repo.stage_cache.cache_dir).glob("*/*/*")]


def push_run_cache_outputs(repo: Repo, remote: Remote) -> int:
    """Push every output the local run-cache records that is still in the local cache; return how many."""
    recorded = set().union(*repo.stage_cache.get_used_objs(run_cache_entries(repo)).values())
    present = {hash_info for hash_info in recorded if repo.cache.local.exists(hash_info.value)}
    try:
        result = repo.cloud.push(present, remote=remote.name)
    except (OSError, DvcException) as error:
        raise RemoteError(f"pushing to {describe(remote)} failed: {error}") from error
    if result.failed:
        raise RemoteError(f"{len(result.failed)} run-cache outputs failed to upload to {describe(remote)}")
    return len(result.transferred)


def dvc(*arguments: str) -> None:
    """Run a DVC command with its own output; a failure ends in one line naming the command."""
    if subprocess.run([sys.executable, "-m", "dvc", *arguments]).returncode != 0:
        raise RemoteError(f"`dvc {' '.join(arguments)}` failed (its messages are above)")


def push() -> None:
    """Push the workspace's data and models, the run-cache and the run-cache's outputs."""
    with Repo() as repo:
        remote = default_remote(repo)
        check_pushable(remote)
        sent = push_run_cache_outputs(repo, remote)
    print(f"{sent} run-cache outputs pushed to {describe(remote)}")
    dvc("push", "--run-cache")


def pull() -> None:
    """Pull this commit's data and models and the run-cache; stages restore their outputs with `--pull`."""
    with Repo() as repo:
        remote = default_remote(repo)
        check_pullable(remote)
    dvc("pull", "--run-cache")
