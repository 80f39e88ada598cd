"""Figure 7: `make push`'s re-hash of every object it sends (dvc.lock's outputs and the run-cache's) against
copying the same cache's objects to another folder (what a push to a local remote does)."""

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch
from harness import median_ratio, timed

from foodcnn import integrity


def measure(repeats: int, project: Path) -> None:
    """Re-hashing what `make push` sends against copying the cache's objects, in a project only read."""
    cache = project / ".dvc/cache/files/md5"
    expected = integrity.lock_outputs(project / "dvc.lock") + integrity.run_cache_outputs(project / ".dvc/cache/runs")
    objects = sorted(integrity.objects(cache))
    cpu = torch.device("cpu")
    pairs, report = [], integrity.Report()
    for index in range(repeats + 1):
        folder = Path(tempfile.mkdtemp(prefix="foodcnn-bench-copy-"))
        try:
            copy_time = timed(
                lambda: [
                    shutil.copyfile(path, folder / f"{path.parent.name}{path.name}")  # noqa: B023 (called before the loop moves on)
                    for path in objects
                ],
                cpu,
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        start = time.perf_counter()
        report = integrity.check_cache(cache, expected)
        if index:  # the first pair warms the file cache
            pairs.append((time.perf_counter() - start, copy_time))
    copied = sum(path.stat().st_size for path in objects)
    check = statistics.median(c for c, _ in pairs)
    copy = statistics.median(c for _, c in pairs)
    print(f"\n7. verify: what `make push` re-hashes in {project} (median of {repeats}, file cache warm)")
    print(
        f"   re-hash  {report.checked:5} objects {report.size / 1e6:7.1f} MB {check:7.2f} s "
        f"({report.size / 1e6 / check:.0f} MB/s); {report.absent} named but not in the cache, "
        f"{len(report.mismatches)} corrupt"
    )
    print(
        f"   copy     {len(objects):5} objects {copied / 1e6:7.1f} MB {copy:7.2f} s "
        f"({copied / 1e6 / copy:.0f} MB/s), ratio re-hash / copy {median_ratio(pairs):.2f}"
    )
