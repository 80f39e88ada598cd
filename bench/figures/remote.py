"""Figure 9: `make push` and `make pull` of the default study to a local folder, S3 (moto) and SSH (sshd)."""

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from harness import REPO, commit
from study import clean_copy, study_environment


def study_project(destination: Path) -> Path:
    """A copy of the repository with its committed dvc.lock: the default study, its outputs to pull."""
    clean_copy(destination)
    shutil.copy2(REPO / "dvc.lock", destination / "dvc.lock")
    commit(destination, "the study")
    return destination


@contextlib.contextmanager
def remote_kinds(folder: Path) -> Iterator[dict[str, dict[str, str]]]:
    """Each kind of remote as the settings of `dvc remote modify --local storage`, with its server running."""
    # The tests' own servers, so that both measure the same thing; imported here, as they need pytest.
    from tests import servers

    with servers.s3_server(folder / "moto") as s3, servers.ssh_server(folder / "sshd") as ssh:
        yield {
            "local folder": {"url": str(folder / "local-store")},
            f"S3 (moto {s3.version})": {
                "url": f"s3://{servers.BUCKET}/store",
                "endpointurl": s3.endpoint,
                "access_key_id": s3.access_key_id,
                "secret_access_key": s3.secret_access_key,
            },
            f"SSH ({ssh.version.split(',')[0]})": {
                "url": f"ssh://{ssh.user}@127.0.0.1:{ssh.port}{folder}/ssh-store",
                "keyfile": str(ssh.keyfile),
            },
        }


def timed_remote(project: Path, direction: str, settings: dict[str, str], environment: dict[str, str]) -> float:
    """Seconds of `make push` or `make pull` (scripts/remote.py) with the default remote set to settings."""
    (project / ".dvc/config.local").unlink(missing_ok=True)  # the previous kind's settings
    for key, value in settings.items():
        subprocess.run(
            [sys.executable, "-m", "dvc", "remote", "modify", "--local", "storage", key, value],
            cwd=project,
            env=environment,
            check=True,
        )
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "scripts/remote.py", direction],
        cwd=project,
        env=environment,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def megabytes(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6


def measure(cache: Path, keep: bool) -> None:
    """Push and pull of the default study to each kind of remote, from and to a fresh clone."""
    environment = study_environment()
    folder = Path(tempfile.mkdtemp(prefix="foodcnn-bench-"))
    (folder / "moto").mkdir()
    (folder / "sshd").mkdir()
    try:
        pusher = study_project(folder / "pusher")
        shutil.copytree(cache, pusher / ".dvc/cache")
        print(
            f"\n9. remote: `make push` / `make pull` of the default study ({megabytes(pusher / '.dvc/cache'):.0f} MB "
            f"in the cache, from {cache}), one timing each"
        )
        with remote_kinds(folder) as kinds:
            for kind, settings in kinds.items():
                push = timed_remote(pusher, "push", settings, environment)
                puller = study_project(folder / f"puller-{len(list(folder.glob('puller-*')))}")
                pull = timed_remote(puller, "pull", settings, environment)
                print(
                    f"   {kind:40} push {push:6.1f} s   pull {pull:6.1f} s   "
                    f"({megabytes(puller / '.dvc/cache'):.0f} MB pulled)"
                )
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
