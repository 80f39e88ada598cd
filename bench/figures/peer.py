"""Figure 8: the default study as an ordinary PyTorch script (bench/peer.py) against the project's main command,
`make repro` (`foodcnn repro`: the training runs side by side)."""

import subprocess
import sys
import time

from harness import BENCH, REPO
from study import fresh_copy, phases, study_environment, timed_repro

from foodcnn import params
from foodcnn.schedule import default_jobs, usable_cores


def measure(keep: bool) -> None:
    """The project's `foodcnn repro` from a clean state, then bench/peer.py on its images and split."""
    with fresh_copy("foodcnn-peer-", keep) as folder:
        project_seconds, stages = timed_repro(folder, study_environment(), ("foodcnn", "repro"))
        start = time.perf_counter()
        script = subprocess.run(
            [sys.executable, str(BENCH / "peer.py"), str(folder)],
            env=study_environment(),
            capture_output=True,
            text=True,
        )
        peer_seconds = time.perf_counter() - start
    if script.returncode != 0:
        raise SystemExit(f"bench/peer.py failed:\n{script.stderr}")
    jobs = default_jobs(params.load(REPO / "params.yaml").threads, usable_cores())
    print(
        f"\n8. the default study: the project's `make repro` ({jobs} runs side by side) against an ordinary script "
        "(bench/peer.py)"
    )
    print(
        "   project phases, wall (sum of the runs): "
        + ", ".join(
            f"{group} {wall:.1f} s" + (f" ({total:.1f} s)" if count > 1 else "")
            for group, (count, total, wall) in phases(stages).items()
        )
    )
    print("   peer " + script.stdout.strip().replace("\n", "\n   peer "))
    print(
        f"   project {project_seconds:.1f} s, peer {peer_seconds:.1f} s: the project at "
        f"{peer_seconds / project_seconds:.2f}x the peer's speed (peer time / project time)"
    )
