"""Figure 8: the default study as an ordinary PyTorch script (bench/peer.py) against the project's `dvc repro`."""

import subprocess
import sys
import time

from harness import BENCH
from study import fresh_copy, study_environment, timed_repro


def measure(keep: bool) -> None:
    """The project's default `dvc repro` from a clean state, then bench/peer.py on its images and split."""
    with fresh_copy("foodcnn-peer-", keep) as folder:
        project_seconds, stages = timed_repro(folder, study_environment())
        start = time.perf_counter()
        script = subprocess.run([sys.executable, str(BENCH / "peer.py"), str(folder)],
                                env=study_environment(), capture_output=True, text=True)
        peer_seconds = time.perf_counter() - start
    if script.returncode != 0:
        raise SystemExit(f"bench/peer.py failed:\n{script.stderr}")
    groups: dict[str, float] = {}
    for name, seconds in stages.items():
        groups[name.split("@")[0]] = groups.get(name.split("@")[0], 0.0) + seconds
    print("\n8. the default study: the project's `dvc repro` against an ordinary script (bench/peer.py)")
    print("   project phases: " + ", ".join(f"{group} {seconds:.1f} s" for group, seconds in groups.items()))
    print("   peer " + script.stdout.strip().replace("\n", "\n   peer "))
    print(f"   project {project_seconds:.1f} s, peer {peer_seconds:.1f} s: the project at "
          f"{peer_seconds / project_seconds:.2f}x the peer's speed (peer time / project time)")
