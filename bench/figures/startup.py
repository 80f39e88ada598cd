"""Figure 10: each stage's start-up, from a new process to its first useful work."""

import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

# The stage module run under another name: its imports happen, its main does not.
IMPORT_ONLY = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='startup')"


def stage_scripts(project: Path) -> dict[str, Path]:
    """Each stage of the project's dvc.yaml and the entry point its command runs."""
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    return {name: project / stage["cmd"].split()[1] for name, stage in stages.items()}


def measure(repeats: int, project: Path) -> None:
    """Median wall time of a Python process that imports a stage's entry point and stops, per stage."""
    print(f"\n10. stage start-up: a new process importing each entry point of {project}/dvc.yaml, median of {repeats}")
    for name, script in stage_scripts(project).items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", IMPORT_ONLY, str(script)],
                cwd=project,
                check=True,
                env={"PYTHONPATH": str(project / "src")},
            )
            times.append(time.perf_counter() - start)
        print(f"   {name:10} {statistics.median(times):5.2f} s")
