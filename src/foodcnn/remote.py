"""The team's DVC remote: push and pull data, models and the run-cache, with one-line errors.

`dvc push --run-cache` sends the run-cache entries but not the outputs they record unless the workspace's
dvc.lock uses them too, and never the metrics and plots files of `cache: false` (DVC 3.67). A teammate
could then not restore such a stage: push also sends every output the local run-cache records.

DVC trusts its cache (foodcnn.integrity): push re-hashes every object it would send and sends nothing when one
is corrupt; pull deletes corrupt local objects first (DVC would never fetch over them) and re-hashes every
object that arrives before checking anything out.
"""

import os
import subprocess
import sys
from pathlib import Path

from dvc.config import NoRemoteError
from dvc.data_cloud import Remote
from dvc.exceptions import DvcException
from dvc.repo import Repo

from foodcnn import integrity
from foodcnn.errors import RemoteError

SET_URL = "dvc remote modify --local {name} url <path or URL>"
SET_CREDENTIALS = (
    "`dvc remote modify --local {name} access_key_id|secret_access_key <value>` (S3) or "
    "`dvc remote modify --local {name} user|keyfile <value>` (SSH)"
)
# Buckets that a push must not create (see check_pushable).
OBJECT_STORES = {"s3", "gs", "azure"}
# Plugin errors that subclass neither PermissionError nor TimeoutError, by name: importing them would make the
# optional plugins (dvc-ssh, dvc-s3) required.
REFUSED_LOGIN = {"PermissionDenied"}  # asyncssh: no accepted key or password
TIMED_OUT = {"ConnectTimeoutError", "ReadTimeoutError"}  # botocore
# An S3 endpoint that takes connections and never answers held `make push` for minutes: s3fs tries each call five
# times, botocore up to five times each, with 15 s to read. These bounds apply unless the remote's config sets its
# own (`dvc remote modify --local storage read_timeout 60`) or the environment its AWS_MAX_ATTEMPTS; s3fs's five
# tries stay, so a slow network is still retried.
S3_TIMEOUTS = {"connect_timeout": 5, "read_timeout": 10}
AWS_MAX_ATTEMPTS = "1"


def describe(remote: Remote) -> str:
    return f"DVC remote '{remote.name}' ({remote.fs.unstrip_protocol(remote.path)})"


def causes(error: BaseException) -> list[BaseException]:
    """The error and what it was raised from: plugins wrap the socket's error in their own."""
    chain = [error]
    while (cause := chain[-1].__cause__ or chain[-1].__context__) is not None and cause not in chain:
        chain.append(cause)
    return chain


def unreachable(remote: Remote, error: BaseException) -> RemoteError:
    """One line saying why the remote could not be used, and what to do about it."""
    chain = causes(error)
    detail = " ".join(str(error).split()) or type(error).__name__
    names = {type(cause).__name__ for cause in chain}
    if any(isinstance(cause, PermissionError) for cause in chain) or names & REFUSED_LOGIN:
        return RemoteError(
            f"{describe(remote)} refused the credentials ({detail}): set them in .dvc/config.local "
            f"with {SET_CREDENTIALS.format(name=remote.name)}"
        )
    if any(isinstance(cause, ConnectionRefusedError) for cause in chain):
        return RemoteError(
            f"{describe(remote)} refused the connection: is its server running? Check the host "
            f"and port ({SET_URL.format(name=remote.name)}, or endpointurl for S3)"
        )
    if any(isinstance(cause, TimeoutError) for cause in chain) or names & TIMED_OUT:
        return RemoteError(
            f"{describe(remote)} did not answer in time: check the address and the network "
            f"(VPN, firewall) ({SET_URL.format(name=remote.name)})"
        )
    return RemoteError(
        f"cannot reach {describe(remote)}: {detail}; check the URL and credentials ({SET_URL.format(name=remote.name)})"
    )


def bound_s3_waits(repo: Repo) -> None:
    """S3_TIMEOUTS for the default remote where its config has none, and AWS_MAX_ATTEMPTS for this process and
    the DVC commands it runs where the environment has none (the timeouts only reach this process's checks
    and transfers: the DVC commands read the config files)."""
    name = repo.config["core"].get("remote")
    settings = repo.config["remote"].get(name) if name else None
    if settings and settings.get("url", "").startswith("s3://"):
        for key, seconds in S3_TIMEOUTS.items():
            settings.setdefault(key, seconds)
        os.environ.setdefault("AWS_MAX_ATTEMPTS", AWS_MAX_ATTEMPTS)


def default_remote(repo: Repo) -> Remote:
    """The remote that plain `dvc push` and `dvc pull` use, with bounded waits on S3."""
    bound_s3_waits(repo)
    try:
        return repo.cloud.get_remote()
    except NoRemoteError as error:
        raise RemoteError("no default DVC remote: add one with `dvc remote add -d <name> <path or URL>`") from error
    except DvcException as error:
        raise RemoteError(f"the default DVC remote cannot be used: {error}") from error


def check_folder(remote: Remote) -> None:
    """Stop when the remote's URL names a file: DVC would read it as an empty remote, or fail to create it."""
    try:
        # exists first: fsspec's isfile answers False for any error, so a remote that never answers would be
        # waited for once here, silently, and again by the caller's check
        is_file = remote.fs.exists(remote.path) and remote.fs.isfile(remote.path)
    except Exception as error:  # noqa: BLE001 - each storage plugin raises its own types (botocore's, asyncssh's)
        raise unreachable(remote, error) from error
    if is_file:
        raise RemoteError(
            f"{describe(remote)} is a file, not a folder: point it at a folder ({SET_URL.format(name=remote.name)})"
        )


def check_pullable(remote: Remote) -> None:
    """Stop, before anything changes, when the remote is missing, empty, a file or unreachable."""
    check_folder(remote)
    try:
        exists = remote.fs.exists(remote.path)
        empty = not exists or next(iter(remote.fs.find(remote.path)), None) is None
    except Exception as error:  # noqa: BLE001 - each storage plugin raises its own types (botocore's, asyncssh's)
        raise unreachable(remote, error) from error
    if not exists:
        raise RemoteError(
            f"{describe(remote)} does not exist: run `make push` in the clone that ran the "
            f"pipeline, or point it at the team's remote ({SET_URL.format(name=remote.name)})"
        )
    if empty:
        raise RemoteError(
            f"{describe(remote)} is empty: run `make push` in the clone that ran the pipeline, or `make repro` here"
        )


def check_pushable(remote: Remote) -> None:
    """Create the remote's folder when missing (a path or SSH), or stop when it is a file or cannot be reached.

    An object store's bucket is never created: a mistyped name would start a second, private remote.
    """
    check_folder(remote)
    try:
        if remote.fs.protocol in OBJECT_STORES:
            remote.fs.exists(remote.path)  # reads, so wrong credentials stop the push here
            bucket_exists = remote.fs.exists(remote.path.split("/")[0])
        else:
            remote.fs.makedirs(remote.path, exist_ok=True)
            bucket_exists = True
    except Exception as error:  # noqa: BLE001 - each storage plugin raises its own types (botocore's, asyncssh's)
        raise unreachable(remote, error) from error
    if not bucket_exists:
        raise RemoteError(
            f"the bucket of {describe(remote)} does not exist: create it, or point the remote at "
            f"the team's bucket ({SET_URL.format(name=remote.name)})"
        )


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
    """Run a DVC command with its own output; a failure ends in one line naming the command. DVC speaks to the user
    through its log; Python warnings in its process come from the libraries under it (the storage plugins'), and
    stay off the terminal as in this process (foodcnn.cli), unless PYTHONWARNINGS says otherwise."""
    environment = {**os.environ, "PYTHONWARNINGS": os.environ.get("PYTHONWARNINGS", "ignore")}
    if subprocess.run([sys.executable, "-m", "dvc", *arguments], env=environment).returncode != 0:
        raise RemoteError(f"`dvc {' '.join(arguments)}` failed (its messages are above)")


def pushed_outputs(repo: Repo) -> list[integrity.Expected]:
    """What push sends: the outputs the local run-cache records and the cached outputs of the pipeline's dvc.lock,
    last, so that check_cache takes them first and an object both name is reported as the commit's output."""
    _, _, runs = integrity.locations(repo)
    return integrity.run_cache_outputs(runs) + integrity.pipeline_outputs(repo)[0]


def refuse_corrupt_or_incomplete(repo: Repo, remote: Remote) -> None:
    """Stop before sending anything when an object push would send does not match its md5, or when an output of
    this commit that the workspace holds is in neither the local cache nor the remote: `dvc push` would warn
    "Missing cache files", send the rest and end well, leaving teammates a commit they cannot pull. An output
    this clone never had (a slice of the grid run here, the rest elsewhere) is not this push's to send."""
    root, cache, _ = integrity.locations(repo)
    report = integrity.check_cache(cache, pushed_outputs(repo))
    for mismatch in report.mismatches:
        print(mismatch.line(), file=sys.stderr)
    if report.mismatches:
        raise RemoteError(
            f"{len(report.mismatches)} cache objects do not match their md5 (listed above): nothing "
            f"pushed to {describe(remote)}"
        )
    left_out = [
        item
        for item in report.missing
        if item.stage is not None and (root / item.path).exists() and not remote.odb.exists(item.md5)
    ]
    for item in left_out:
        print(
            f"missing: {item.path} (stage {item.stage}): object {item.md5} is in neither the local cache nor the "
            f"remote",
            file=sys.stderr,
        )
    if left_out:
        raise RemoteError(
            f"{len(left_out)} outputs of this commit are in neither the local cache nor "
            f"{describe(remote)} (listed above): nothing pushed; `make verify` says why and how to "
            f"restore each, or `make pull` from the remote that has them"
        )


def push() -> None:
    """Verify, then push the workspace's data and models, the run-cache and the run-cache's outputs."""
    with Repo() as repo:
        remote = default_remote(repo)
        check_pushable(remote)
        refuse_corrupt_or_incomplete(repo, remote)
        sent = push_run_cache_outputs(repo, remote)
    print(f"{sent} run-cache outputs pushed to {describe(remote)}")
    dvc("push", "--run-cache")


def remove_corrupt(cache: Path, expected: list[integrity.Expected]) -> None:
    """Delete the corrupt local objects among those named, so that the fetch replaces them."""
    report = integrity.check_cache(cache, expected)
    for mismatch in report.mismatches:
        print(
            f"replacing corrupt {mismatch.file} ({mismatch.expected.path}): md5 {mismatch.actual}, expected "
            f"{mismatch.expected.md5}",
            file=sys.stderr,
        )
    integrity.remove(report.mismatches)


def refuse_arrived(cache: Path, before: set[Path], expected: list[integrity.Expected], remote: Remote) -> None:
    """Delete and report every fetched object that does not match its md5, before it reaches the workspace."""
    report = integrity.check_arrived(cache, before, expected)
    integrity.remove(report.mismatches)
    for mismatch in report.mismatches:
        print(
            f"{mismatch.file} ({mismatch.expected.path}): md5 {mismatch.actual}, expected {mismatch.expected.md5}",
            file=sys.stderr,
        )
    if report.mismatches:
        raise RemoteError(
            f"{len(report.mismatches)} objects from {describe(remote)} do not match their md5 (listed "
            f"above, deleted, nothing checked out): push them again from a clone whose "
            f"`make verify` passes"
        )


def pull() -> None:
    """Pull this commit's data and models and the run-cache, every object re-hashed before checkout."""
    with Repo() as repo:
        remote = default_remote(repo)
        check_pullable(remote)
        _, cache, _ = integrity.locations(repo)
        remove_corrupt(cache, pushed_outputs(repo))
    before = integrity.objects(cache)
    dvc("fetch", "--run-cache")
    with Repo() as repo:
        refuse_arrived(cache, before, pushed_outputs(repo), remote)
    dvc("checkout")
