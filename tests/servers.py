"""Storage servers on 127.0.0.1 for the remote tests: moto's S3 server and Debian's sshd, each on a free port.

Each starts as a child process of the test session with its own state in a temporary folder, and is stopped
when the session ends. Where one cannot start (the extras or openssh-server not installed) its tests skip,
except in CI (the CI variable set), where they fail: CI must run them (`.ci/run` installs both).
"""

import getpass
import importlib.metadata
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"
BUCKET = "team"
# The server each kind of remote ran against, for the session's summary.
SEEN: dict[str, str] = {}
ALLOW_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def unavailable(reason: str) -> None:
    """Skip where a server cannot start, except in CI, which must run these tests."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the S3 and SSH remote tests (.ci/run installs them)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    """Until the server accepts connections; its log on failure."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server on port {port} did not start:\n{log.read_text()}")


@contextmanager
def server(command: list[str], port: int, folder: Path, env: dict[str, str] | None = None) -> Iterator[None]:
    log = folder / "server.log"
    with open(log, "w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(port, process, log)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key_id: str
    secret_access_key: str
    version: str

    def client(self, secret: str | None = None):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=secret or self.secret_access_key,
        )


@contextmanager
def s3_server(folder: Path) -> Iterator[S3Server]:
    """moto's standalone S3 with authentication on: one IAM user allowed S3, and the bucket `team`.

    moto checks no signature until it has served INITIAL_NO_AUTH_ACTION_COUNT requests: the four that create
    the user, its key, its policy and the bucket. After those, a wrong key is refused as by AWS.
    """
    moto_server = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    if moto_server is None or importlib.util.find_spec("dvc_s3") is None:
        unavailable("moto_server or dvc-s3 not installed (pip install -r requirements-remote-test.txt)")
    import boto3

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "4", "MOTO_DATA_DIR": str(folder)}
    with server([moto_server, "-H", "127.0.0.1", "-p", str(port)], port, folder, env):
        setup = dict(
            endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup"
        )
        iam = boto3.client("iam", **setup)
        iam.create_user(UserName="team")
        key = iam.create_access_key(UserName="team")["AccessKey"]
        iam.put_user_policy(UserName="team", PolicyName="s3", PolicyDocument=json.dumps(ALLOW_S3))
        s3 = S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"], importlib.metadata.version("moto"))
        s3.client().create_bucket(Bucket=BUCKET)
        yield s3


@dataclass(frozen=True)
class SshServer:
    port: int
    user: str
    keyfile: Path
    stranger_keyfile: Path
    version: str


def keypair(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


SSHD_CONFIG = """\
ListenAddress 127.0.0.1
Port {port}
HostKey {folder}/host_key
PidFile {folder}/sshd.pid
AuthorizedKeysFile {folder}/authorized_keys
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
"""


@contextmanager
def ssh_server(folder: Path) -> Iterator[SshServer]:
    """Debian's sshd as this user's process: its own host key and config, one authorized key, no passwords."""
    if not (os.access(SSHD, os.X_OK) and shutil.which("ssh-keygen")):
        unavailable(f"{SSHD} not installed (apt-get install openssh-server)")
    if importlib.util.find_spec("dvc_ssh") is None:
        unavailable("dvc-ssh not installed (pip install -r requirements-remote-test.txt)")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder, as its service makes
    keypair(folder / "host_key")
    client = keypair(folder / "client_key")
    stranger = keypair(folder / "stranger_key")
    shutil.copy(client.with_suffix(".pub"), folder / "authorized_keys")
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(SSHD_CONFIG.format(port=port, folder=folder))
    version = subprocess.run([SSHD, "-V"], capture_output=True, text=True).stderr.strip()
    with server([SSHD, "-D", "-e", "-f", str(config)], port, folder):
        yield SshServer(port, getpass.getuser(), client, stranger, version)


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port that takes connections and never answers: a server that hangs, for the timeout cases."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A pytest-xdist worker hands the servers it saw to the process that writes the summary."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["remote servers"] = SEEN


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: a worker ended
def pytest_testnodedown(node, error) -> None:
    SEEN.update(getattr(node, "workeroutput", {}).get("remote servers", {}))


def pytest_terminal_summary(terminalreporter) -> None:
    if SEEN:
        terminalreporter.write_line("remote servers: " + "; ".join(f"{kind}: {v}" for kind, v in SEEN.items()))
