"""The team's flows on each kind of DVC remote: a local folder, S3 (moto's server) and SSH (sshd), on 127.0.0.1.

The study is trained once a session (tests/team.py) and pushed to each kind; each kind then runs the flows of
tests/test_team.py on its own remote. One fixture, `store`, is parametrized over the kinds, so a step for every
kind (a verified pull, say) is one more test here.
"""

import hashlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from foodcnn.integrity import lock_outputs
from foodcnn.remote import unreachable
from tests import servers
from tests.project import TINY, attempt, copy_project, dvc, git, set_params, stages_run
from tests.team import EXPERIMENT, clone, remote

KINDS = ("local", "s3", "ssh")
WIDER_LR = 0.003  # a grid value the trained study lacks: the only runs the split below trains


@dataclass(frozen=True)
class Store:
    """One kind of remote: where its folders are and the `dvc remote modify --local` settings that reach them.

    `{port}` in base or options is the server's port, or another one for the fault cases.
    """

    kind: str
    base: str
    folder: Path | None = None  # where the server keeps the remote's files (local, SSH): read to watch a push
    s3: servers.S3Server | None = None
    port: int = 0
    options: dict[str, str] = field(default_factory=dict)
    wrong_credentials: dict[str, str] = field(default_factory=dict)
    short_timeout: dict[str, str] = field(default_factory=dict)
    version: str = ""

    def settings(self, name: str, port: int | None = None, **changes: str) -> dict[str, str]:
        values = {"url": f"{self.base}/{name}", **self.options, **changes}
        return {key: value.replace("{port}", str(port or self.port)) for key, value in values.items()}

    def secrets(self) -> list[str]:
        """The credential settings' values (those that wrong_credentials replaces)."""
        return [self.options[key] for key in self.wrong_credentials]


class FakeRemote:
    """What describe() reads of a DVC remote, for the error lines without a server."""

    name = "storage"
    path = "team/store"

    class fs:
        protocol = "s3"

        @staticmethod
        def unstrip_protocol(path: str) -> str:
            return f"s3://{path}"


def raised_from(cause: BaseException, message: str = "plugin's error\nsecond line") -> Exception:
    """A plugin's own error type wrapping the socket's error, as botocore and asyncssh raise them."""
    try:
        raise cause
    except BaseException:
        try:
            raise RuntimeError(message)
        except RuntimeError as error:
            return error


@pytest.mark.parametrize(
    ("cause", "words"),
    [
        (PermissionError("Forbidden"), "refused the credentials"),
        (type("PermissionDenied", (Exception,), {})("Permission denied for user"), "refused the credentials"),
        (ConnectionRefusedError(111, "Connect call failed"), "refused the connection"),
        (TimeoutError(), "did not answer in time"),
        (type("ReadTimeoutError", (Exception,), {})("Read timeout"), "did not answer in time"),
        (ValueError("something else"), "cannot reach"),
    ],
)
def test_a_remote_error_is_one_line_saying_which_fault_and_what_to_do(cause, words):
    message = str(unreachable(FakeRemote(), raised_from(cause)))
    assert words in message and "DVC remote 'storage' (s3://team/store)" in message and "\n" not in message
    assert "dvc remote modify --local storage" in message


def configure(project: Path, settings: dict[str, str]) -> None:
    """Point the default remote `storage` at settings, in .dvc/config.local only (never committed)."""
    for key, value in settings.items():
        dvc(project, "remote", "modify", "--local", "storage", key, value)


@pytest.fixture(scope="module")
def s3(tmp_path_factory) -> Iterator[servers.S3Server]:
    with servers.s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture(scope="module")
def ssh(tmp_path_factory) -> Iterator[servers.SshServer]:
    with servers.ssh_server(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture(scope="module", params=KINDS)
def store(request, tmp_path_factory) -> Store:
    """Each kind of remote in turn; its server starts on first use and stops at the end of the module."""
    if request.param == "local":
        folder = tmp_path_factory.mktemp("local")
        return Store("local", str(folder), folder, version="a local folder")
    if request.param == "s3":
        s3 = request.getfixturevalue("s3")
        store = Store(
            "s3",
            f"s3://{servers.BUCKET}",
            None,
            s3,
            int(s3.endpoint.rsplit(":", 1)[1]),
            {
                "endpointurl": "http://127.0.0.1:{port}",
                "access_key_id": s3.access_key_id,
                "secret_access_key": s3.secret_access_key,
            },
            {"secret_access_key": "not-the-secret"},
            {"connect_timeout": "1", "read_timeout": "1"},
            f"moto {s3.version} (S3)",
        )
    else:
        ssh = request.getfixturevalue("ssh")
        folder = tmp_path_factory.mktemp("ssh-store")
        store = Store(
            "ssh",
            f"ssh://{ssh.user}@127.0.0.1:{{port}}{folder}",
            folder,
            None,
            ssh.port,
            {"keyfile": str(ssh.keyfile)},
            {"keyfile": str(ssh.stranger_keyfile)},
            {"timeout": "2"},
            ssh.version,
        )
    servers.SEEN[store.kind] = store.version
    return store


@pytest.fixture(scope="module")
def pushed(store, team, experiment) -> Path:
    """A copy of carol's clone (the trained study and its experiment), pushed to this kind's `team` folder."""
    project = team / f"carol-{store.kind}"
    shutil.copytree(team / "carol", project, symlinks=True)
    configure(project, store.settings("team"))
    remote(project, "push")
    return project


def teammate(team: Path, name: str, store: Store, branch: str = "main") -> Path:
    project = clone(team, f"{name}-{store.kind}", branch=branch)
    configure(project, store.settings("team"))
    return project


@pytest.mark.slow
def test_a_fresh_clone_pulls_the_study_and_reproduces_nothing(store, team, pushed):
    dave = teammate(team, "dave", store)
    remote(dave, "pull")
    assert dvc(dave, "status").strip().endswith("Data and pipelines are up to date."), store.version
    assert stages_run(dvc(dave, "repro")) == set()
    assert (dave / "models/grid/residual_lr0.01_bs8_seed42.pt").is_file()


@pytest.fixture(scope="module")
def wider(team, sweep) -> str:
    """A branch of origin whose grid has one more lr: two new runs to split, the others in the run-cache."""
    project = clone(team, "widen")
    set_params(project, {"grid": {"lr": [0.01, 0.001, WIDER_LR]}})
    git(project, "commit", "-q", "-am", "one more lr")
    git(project, "push", "-q", "origin", "HEAD:wider")
    return "wider"


@pytest.mark.slow
def test_two_clones_split_the_grid_through_the_remote_and_a_third_trains_none(store, team, pushed, wider):
    if store.kind == "local":
        pytest.skip("tests/test_team.py's sweep splits the grid through a local folder")
    trained = {}
    for name, model in [("alice", "basic"), ("bob", "residual")]:
        machine = teammate(team, name, store, wider)
        trained[name] = stages_run(dvc(machine, "repro", "--pull", "--glob", f"train@{model}-*"))
        remote(machine, "push")
    assert trained == {"alice": {f"train@basic-{WIDER_LR}-8-42"}, "bob": {f"train@residual-{WIDER_LR}-8-42"}}
    carl = teammate(team, "carl", store, wider)
    assert stages_run(dvc(carl, "repro", "--pull", "--glob", "train@*")) == set(), "all from the run-cache"
    assert (carl / f"models/grid/basic_lr{WIDER_LR}_bs8_seed42.pt").is_file()


@pytest.mark.slow
def test_an_experiment_travels_with_its_models(store, team, pushed):
    dvc(pushed, "exp", "push", "origin", EXPERIMENT)
    erin = teammate(team, "erin", store)
    dvc(erin, "exp", "pull", "origin", EXPERIMENT)
    dvc(erin, "exp", "apply", EXPERIMENT)
    assert "lr: 0.001" in (erin / "params.yaml").read_text().split("finetune:")[1]
    for case in "AB":
        model = f"models/finetune/mobilenet_{case}_seed42.pt"
        assert digest(erin / model) == digest(pushed / model), "the experiment's model, not main's"


def digest(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_credentials_stay_in_config_local_and_out_of_git(store, team, pushed):
    heidi = teammate(team, "heidi", store)
    git(heidi, "add", "-A")  # a careless `git add -A` still tracks no credential
    assert git(heidi, "check-ignore", ".dvc/config.local").strip() == ".dvc/config.local"
    for secret in store.secrets():
        assert attempt(heidi, "git", "grep", "--cached", "-F", secret).returncode == 1, "a credential is tracked"


def failure(project: Path, direction: str) -> str:
    result = attempt(project, sys.executable, "scripts/remote.py", direction)
    assert result.returncode == 2, result.stdout + result.stderr
    return result.stderr


def faults(store: Store) -> dict[str, tuple[dict[str, str], str, list[str]]]:
    """Each fault's remote settings, the words its one line must have, and the directions it stops."""
    missing = {"url": "s3://no-such-bucket/team"} if store.kind == "s3" else {}
    return {
        "wrong credentials": (
            store.settings("team", **store.wrong_credentials),
            "refused the credentials",
            ["pull", "push"],
        ),
        "server down": (store.settings("team", port=servers.free_port()), "refused the connection", ["pull", "push"]),
        "missing": (
            store.settings("no-such-folder", **missing),
            "does not exist",
            ["pull", "push"] if store.kind == "s3" else ["pull"],
        ),
    }


@pytest.mark.slow
def test_each_fault_is_one_line_naming_the_remote_and_what_to_do_and_changes_nothing(store, team, pushed, monkeypatch):
    if store.kind == "local":
        pytest.skip("a local folder's faults are tests/test_team.py's")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's retries, on top of s3fs's, would take minutes
    frank = teammate(team, "frank", store)
    before = git(frank, "status", "--porcelain", "--untracked-files=all")
    cases = faults(store)
    with servers.silent_listener() as hanging:
        cases["unreachable"] = (
            store.settings("team", port=hanging, **store.short_timeout),
            "did not answer in time",
            ["pull", "push"],
        )
        for fault, (settings, words, directions) in cases.items():
            configure(frank, settings)
            for direction in directions:
                started = time.monotonic()
                message = failure(frank, direction)
                assert message.startswith("error: ") and message.count("\n") == 1, f"{fault}: {message}"
                assert "DVC remote 'storage'" in message and words in message, f"{fault}: {message}"
                assert "dvc remote modify --local storage" in message, f"{fault}: it says what to do"
                assert time.monotonic() - started < 60, f"{fault}: {direction} took too long"
            configure(frank, store.settings("team"))
    assert git(frank, "status", "--porcelain", "--untracked-files=all") == before
    assert not list((frank / ".dvc/cache").glob("files/**/*")), "nothing was pulled"
    assert not remote_objects(store, "no-such-folder") and "no-such-bucket" not in buckets(store)


@pytest.mark.slow
def test_an_s3_endpoint_that_never_answers_stops_pull_and_push_in_time_with_the_default_settings(tmp_path, monkeypatch):
    """No timeout in the remote's config and no AWS_MAX_ATTEMPTS: s3fs's and botocore's own (five tries of up to
    five attempts, 15 s each) kept `make push` silent for more than five minutes."""
    if importlib.util.find_spec("dvc_s3") is None:
        servers.unavailable("dvc-s3 not installed (pip install -r requirements-remote-test.txt)")
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    # Pull and push wait side by side, each in a copy of its own (DVC locks a repository for either): the test's
    # time is the waiting, not work.
    projects = {direction: copy_project(tmp_path / direction, TINY) for direction in ("pull", "push")}
    before = {
        direction: git(project, "status", "--porcelain", "--untracked-files=all")
        for direction, project in projects.items()
    }
    with servers.silent_listener() as hanging, ThreadPoolExecutor(max_workers=2) as pool:
        for project in projects.values():
            configure(
                project,
                {
                    "url": "s3://team/store",
                    "endpointurl": f"http://127.0.0.1:{hanging}",
                    "access_key_id": "someone",
                    "secret_access_key": "secret",
                },
            )
        ended = dict(zip(projects, pool.map(timed_failure, projects.values(), projects), strict=True))
        for direction, (message, seconds) in ended.items():
            assert message.startswith("error: DVC remote 'storage' (s3://team/store) did not answer in time")
            assert message.count("\n") == 1, message
            assert seconds < 80, f"{direction}: about 5 tries x 10 s, then the line"
    for direction, project in projects.items():
        assert git(project, "status", "--porcelain", "--untracked-files=all") == before[direction]


def timed_failure(project: Path, direction: str) -> tuple[str, float]:
    started = time.monotonic()
    return failure(project, direction), time.monotonic() - started


def remote_objects(store: Store, name: str) -> list[str]:
    """Every object under the remote's folder `name`, read from the server's side (not through DVC)."""
    if store.s3 is not None:
        pages = store.s3.client().get_paginator("list_objects_v2").paginate(Bucket=servers.BUCKET, Prefix=f"{name}/")
        return [item["Key"] for page in pages for item in page.get("Contents", [])]
    return [str(path) for path in (store.folder / name).rglob("*") if path.is_file()]


def buckets(store: Store) -> list[str]:
    return [bucket["Name"] for bucket in store.s3.client().list_buckets()["Buckets"]] if store.s3 else []


def kill_when_uploading(project: Path, store: Store, name: str, seconds: float = 120) -> int:
    """Start `make push` and kill it (SIGKILL, its whole process group) once the first object has landed.

    Returns how many objects had landed; fails when the push ended before it could be killed.
    """
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    push = subprocess.Popen(
        [sys.executable, "scripts/remote.py", "push"],
        cwd=project,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + seconds
    try:
        while not (landed := remote_objects(store, name)) and push.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert push.poll() is None, "the push ended before it could be killed"
        os.killpg(push.pid, signal.SIGKILL)
    finally:
        push.kill()
        push.wait()
    return len(landed)


def checksum_errors(project: Path) -> list[str]:
    """Objects of the local cache whose content does not hash to their name (md5, as DVC names them)."""
    cache = project / ".dvc/cache/files/md5"
    return [
        str(path)
        for path in cache.rglob("*")
        if path.is_file() and digest(path) != path.parent.name + path.name.removesuffix(".dir")
    ]


@pytest.mark.slow
def test_a_push_killed_part_way_then_pushed_again_gives_a_clone_a_complete_valid_cache(store, team, pushed):
    configure(pushed, store.settings("killed"))
    try:
        assert kill_when_uploading(pushed, store, "killed") > 0
        remote(pushed, "push")
    finally:
        configure(pushed, store.settings("team"))
    grace = teammate(team, "grace", store)
    configure(grace, store.settings("killed"))
    remote(grace, "pull")
    assert dvc(grace, "status").strip().endswith("Data and pipelines are up to date.")
    assert checksum_errors(grace) == []


MODEL = "models/grid/residual_lr0.01_bs8_seed42.pt"  # a grid checkpoint every clone of main pulls


def corrupt_on_remote(store: Store, name: str, md5: str) -> None:
    """Zero 16 bytes in the middle of an object of the remote's folder `name`, from the server's side (as a failing
    disk or a bad upload would), keeping its size."""
    relative = f"files/md5/{md5[:2]}/{md5[2:]}"
    if store.s3 is not None:
        client = store.s3.client()
        body = bytearray(client.get_object(Bucket=servers.BUCKET, Key=f"{name}/{relative}")["Body"].read())
        body[len(body) // 2 : len(body) // 2 + 16] = bytes(16)
        client.put_object(Bucket=servers.BUCKET, Key=f"{name}/{relative}", Body=bytes(body))
        return
    path = store.folder / name / relative
    mode = path.stat().st_mode
    path.chmod(0o644)
    body = bytearray(path.read_bytes())
    body[len(body) // 2 : len(body) // 2 + 16] = bytes(16)
    path.write_bytes(bytes(body))
    path.chmod(mode)  # DVC re-hashes a writable object of a local remote itself; a failing disk keeps the mode


@pytest.mark.slow
def test_a_corrupt_object_on_the_remote_is_refused_by_pull_and_never_checked_out(store, team, pushed):
    configure(pushed, store.settings("tampered"))
    try:
        remote(pushed, "push")
    finally:
        configure(pushed, store.settings("team"))
    ivan = teammate(team, "ivan", store)
    md5 = next(output.md5 for output in lock_outputs(ivan / "dvc.lock") if output.path == MODEL)
    corrupt_on_remote(store, "tampered", md5)
    configure(ivan, store.settings("tampered"))
    stderr = failure(ivan, "pull")
    assert stderr.splitlines()[-1].startswith("error: 1 objects from DVC remote 'storage'")
    assert "do not match their md5" in stderr.splitlines()[-1] and f"expected {md5}" in stderr
    assert checksum_errors(ivan) == [] and not (ivan / MODEL).exists(), "the corrupt model is never checked out"
