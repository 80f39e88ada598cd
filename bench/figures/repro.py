"""Figure 2: wall time of the default `dvc repro` from a clean state, and of a no-op `dvc repro`."""

import statistics

from study import fresh_copy, study_environment, timed_repro


def measure(keep: bool) -> None:
    """The default pipeline from a clean state, then again with nothing to do."""
    with fresh_copy("foodcnn-bench-", keep) as folder:
        clean, stages = timed_repro(folder, study_environment())
        noop, _ = timed_repro(folder, study_environment())
    print("\n2. default `dvc repro` (params.yaml as committed), in a fresh copy of the repository")
    groups: dict[str, list[float]] = {}
    for name, (began, end) in stages.items():
        groups.setdefault(name.split("@")[0], []).append(end - began)
    for group, times in groups.items():
        print(f"   {group:10} {len(times):3} stage(s) {sum(times):7.1f} s   (median {statistics.median(times):.1f} s)")
    print(f"   clean state: {clean:.1f} s ({int(clean // 60)} min {clean % 60:02.0f} s)   target <= 180 s")
    print(f"   no-op:       {noop:.1f} s   target <= 3 s")
