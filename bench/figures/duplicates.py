"""Figure 5: the split stage's scan (decode, pixel digest, difference hash, grouping) against decoding alone,
on JPEG photos (by default 11,000 of 512 px: Food-101's size and the study's class count)."""

import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from harness import median_ratio, timed
from PIL import Image

from foodcnn import params as study_params
from foodcnn.data.duplicates import Fingerprint, Fingerprints, find_duplicates, fingerprint
from foodcnn.data.reader import read_rgb
from foodcnn.data.sample import CLASS_NAMES, draw_image
from foodcnn.data.split import scan


def write_photos(root: Path, count: int, size: int) -> list[Path]:
    """count JPEGs of size x size in 11 class folders: sample images drawn at a quarter size and scaled up,
    so that they decode like photos (smooth, not pure noise) without the cost of drawing them at full size."""
    paths = []
    for number in range(count):
        index = number % len(CLASS_NAMES)
        image = draw_image(index, size // 4, random.Random(number), np.random.default_rng(number))
        path = root / CLASS_NAMES[index] / f"{number:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        image.resize((size, size), Image.Resampling.BICUBIC).save(path, quality=90)
        paths.append(path)
    return paths


def grouping_time(prints: list[Fingerprint], threshold: int | None, cpu: torch.device) -> float:
    """Seconds of find_duplicates on the fingerprints (a fresh store each time: it takes the digests out)."""
    store = Fingerprints()
    for found in prints:
        store.append(found)
    return timed(lambda: find_duplicates(store, threshold), cpu)


def measure(settings: study_params.Params, repeats: int, count: int, size: int) -> None:
    """The split stage's scan against decoding alone, and the grouping of the hashes on its own."""
    threshold = settings.split.near_duplicates
    folder = Path(tempfile.mkdtemp(prefix="foodcnn-bench-photos-"))
    try:
        paths = write_photos(folder, count, size)
        cpu = torch.device("cpu")
        pairs, found = [], None
        for index in range(repeats + 1):
            decode_time = timed(lambda: [read_rgb(path) for path in paths], cpu)
            start = time.perf_counter()
            found = scan(folder, threshold)
            if index:  # the first pair warms the file cache
                pairs.append((time.perf_counter() - start, decode_time))
        in_path_order = sorted(paths, key=lambda path: path.relative_to(folder).as_posix())
        prints = [fingerprint(read_rgb(path)) for path in in_path_order]
        grouping = statistics.median(grouping_time(prints, threshold, cpu) for _ in range(repeats))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    decode = statistics.median(d for _, d in pairs)
    total = statistics.median(t for t, _ in pairs)
    print(
        f"\n5. duplicates: the split's scan of {count} JPEGs of {size} px in {len(CLASS_NAMES)} classes, "
        f"split.near_duplicates {threshold} (median of {repeats})"
    )
    print(f"   decode only      {decode:7.2f} s  ({1000 * decode / count:.2f} ms per image)")
    print(
        f"   scan             {total:7.2f} s  ({1000 * total / count:.2f} ms per image), ratio to decoding "
        f"{median_ratio(pairs):.3f}"
    )
    print(f"   grouping alone   {grouping:7.2f} s")
    print(f"   left out as duplicates: {len(found.duplicates)} (the images are distinct, so any is a false match)")
