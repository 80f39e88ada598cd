"""The duplicate index and the split stage against plain references that compare every pair, and the split's
memory on thousands of near-identical photos."""

import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from foodcnn.data import duplicates
from foodcnn.data.duplicates import Fingerprint, Fingerprints, KeptIndex, find_duplicates, fingerprint
from foodcnn.data.reader import UnreadableImage, read_rgb
from foodcnn.data.split import scan, split_report, stratified_split
from tests.conftest import NEAR_DUPLICATES, PHOTOS, REPO, noise_image, save_image


def digest_of(name: str) -> bytes:
    return hashlib.blake2b(name.encode(), digest_size=16).digest()


def duplicates_among(
    prints: dict[str, Fingerprint], threshold: int | None, preferred: frozenset[str]
) -> list[tuple[str, str, int | None]]:
    """find_duplicates on fingerprints by path: stored in sorted path order, as scan stores them."""
    paths = sorted(prints)
    stored = Fingerprints()
    for path in paths:
        stored.append(prints[path])
    flags = np.array([path in preferred for path in paths]) if preferred else None
    found = find_duplicates(stored, threshold, flags)
    return sorted((paths[number], paths[kept], distance) for number, kept, distance in found)


def pairwise_rule(
    prints: dict[str, Fingerprint], threshold: int | None, preferred: frozenset[str] = frozenset()
) -> list[tuple[str, str, int | None]]:
    """find_duplicates' rule spelled out over every pair: in order (preferred photos first, then by path), a photo
    is left out for the first kept photo with its pixels, else (threshold not None) for the first kept photo
    within threshold bits and of about the same colour."""
    kept: list[str] = []
    left_out = []
    for path in sorted(prints, key=lambda path: (path not in preferred, path)):
        this = prints[path]
        same = next((k for k in kept if prints[k].digest == this.digest), None)
        near = next(
            (
                k
                for k in kept
                if threshold is not None
                and bin(prints[k].dhash ^ this.dhash).count("1") <= threshold
                and max(abs(a - b) for a, b in zip(prints[k].colour, this.colour, strict=True))
                <= duplicates.COLOUR_TOLERANCE
            ),
            None,
        )
        if same is not None:
            left_out.append((path, same, None))
        elif near is not None:
            left_out.append((path, near, bin(prints[near].dhash ^ this.dhash).count("1")))
        else:
            kept.append(path)
    return sorted(left_out)


@pytest.mark.parametrize("threshold", [None, 0, 3, NEAR_DUPLICATES, 20, 31])
@pytest.mark.parametrize("preferred_every", [0, 5])
def test_the_index_finds_what_comparing_every_pair_finds_chains_included(threshold, preferred_every):
    """Bursts: photos one to three bits from the previous one, so that a chain's ends are further apart than its
    links; a photo near a left-out photo but no kept one stays, so the groups are not connected components.
    Three shots of each burst share a digest but not a hash (a digest's first photo may be left out and a later
    one kept); every preferred_every-th photo, if any, is preferred (a fixed test list)."""
    generator = np.random.default_rng(threshold)
    prints: dict[str, Fingerprint] = {}
    for burst in range(40):
        dhash = int(generator.integers(0, 2**63, dtype=np.uint64)) << 1
        colour = tuple(generator.uniform(0, 255, 3).tolist())
        for shot in range(12):
            for bit in generator.integers(0, 64, generator.integers(1, 4)):
                dhash ^= 1 << int(bit)
            colour = tuple(c + generator.uniform(-4, 4) for c in colour)
            digest = digest_of(f"{burst}" if shot in (3, 7, 10) else f"{burst}/{shot}")
            prints[f"c{burst % 3}/{burst:02d}_{shot:02d}.png"] = Fingerprint(digest, dhash, colour)
    preferred = frozenset(list(prints)[::preferred_every] if preferred_every else [])
    expected = pairwise_rule(prints, threshold, preferred)
    assert duplicates_among(prints, threshold, preferred) == expected
    assert any(d is None for _, _, d in expected) and (threshold is None or any(d is not None for _, _, d in expected))


def test_near_identical_photos_keep_one_index_entry_and_no_pairs():
    base = fingerprint(noise_image(0, (32, 32)))
    hashes = np.array([base.dhash] + [base.dhash ^ 1 << position % 64 for position in range(1, 1000)], np.uint64)
    index = KeptIndex(hashes, np.tile(base.colour, (1000, 1)), NEAR_DUPLICATES)
    index.add(0)
    for position in range(1, 1000):
        assert index.first_match(int(hashes[position]), np.array(base.colour)) == (0, 1)
    assert index.entries() == NEAR_DUPLICATES + 1  # one entry per block of the kept photo


def reference_split(root: Path, threshold: int | None, fixed_test: frozenset[str] | None, seed: int) -> tuple:
    """The split stage spelled out with a str and a Fingerprint per photo and every pair compared: the rows, the
    counts per class in the rows' order, the duplicates and the unreadable files (val and test fractions 0.2)."""
    prints, unreadable = {}, []
    for path in root.rglob("*"):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and "/" in relative and not any(part.startswith(".") for part in relative.split("/")):
            try:
                prints[relative] = fingerprint(read_rgb(path))
            except UnreadableImage as error:
                unreadable.append((relative, error.reason))
    left_out = pairwise_rule(prints, threshold, fixed_test or frozenset())
    rows = []
    for label in sorted({path.split("/")[0] for path in prints}):
        shuffled = sorted(p for p in prints if p.startswith(f"{label}/") and p not in {d[0] for d in left_out})
        random.Random(f"{seed}/{label}").shuffle(shuffled)
        if fixed_test is None:
            count = max(1, round(len(shuffled) * 0.2))
            chunks = {"test": shuffled[:count], "val": shuffled[count : 2 * count], "train": shuffled[2 * count :]}
        else:
            rest = [path for path in shuffled if path not in fixed_test]
            val = max(1, round(len(shuffled) * 0.2))
            chunks = {"test": [path for path in shuffled if path in fixed_test], "val": rest[:val], "train": rest[val:]}
        rows += [(path, label, split) for split, chunk in chunks.items() for path in chunk]
    counts: dict[str, dict[str, int]] = {}
    for _, label, split in sorted(rows):
        counts.setdefault(label, {"train": 0, "val": 0, "test": 0})[split] += 1
    return sorted(rows), counts, left_out, sorted(unreadable)


@pytest.mark.parametrize("threshold", [None, NEAR_DUPLICATES])
@pytest.mark.parametrize("fixed", [False, True])
def test_nested_folders_and_labels_prefixing_others_split_as_the_plain_reference_does(tmp_path, threshold, fixed):
    """Orders where a path's parts and its string disagree: pie/sub-b.png sorts before pie/sub/x.png as a string
    (after it as parts), and pie-x/ and pie.y/ before pie/; copies across them name the first in string order."""
    photo = read_rgb(PHOTOS["grace_hopper"])
    for number, label in enumerate(("apple", "pie", "pie-x", "pie.y")):
        for index in range(6):
            save_image(noise_image(10 * number + index, (16, 16)), tmp_path / label / f"{index}.png")
    save_image(photo, tmp_path / "pie/sub/x.png")
    save_image(photo, tmp_path / "pie/sub-b.png")
    save_image(photo, tmp_path / "pie-x/sub/x.bmp")
    save_image(photo, tmp_path / "pie.y/copy.jpg", quality=80)
    save_image(photo.resize((256, 300)), tmp_path / "pie/sub/deeper/small.png")
    save_image(noise_image(99, (16, 16)), tmp_path / "pie-x/é.png")
    (tmp_path / "pie/notes.txt").write_text("menu")
    save_image(noise_image(98, (16, 16)), tmp_path / "pie/.hidden/x.png")
    fixed_test = frozenset({"pie/sub/x.png", *(f"{label}/5.png" for label in ("apple", "pie", "pie-x", "pie.y"))})
    found = scan(tmp_path, threshold, fixed_test if fixed else None)
    split = stratified_split(found, 0.2, 0.2, seed=1)
    rows, counts, left_out, unreadable = reference_split(tmp_path, threshold, fixed_test if fixed else None, seed=1)
    assert list(split.rows()) == rows and split_report(split.counts(), [])["classes"] == counts
    assert list(counts) == ["apple", "pie-x", "pie.y", "pie"]  # the report's classes come in the rows' order
    assert [(d.path, d.kept, d.distance) for d in found.duplicates] == left_out
    assert left_out[0][1] == ("pie/sub/x.png" if fixed else "pie-x/sub/x.bmp")
    assert [(s.path, s.reason) for s in found.skipped if s.path not in {d[0] for d in left_out}] == unreadable


# The split stage's peak memory on BURST near-identical photos: about 40 MB with the index; comparing every
# pair kept all 4.5 million pairs in lists, 914 MB at 3,000 photos, growing with the square of the count.
BURST = 3000
SPLIT_MEMORY_BOUND_MB = 150
# The stage runs as a child of a small process that reports its children's peak: a process started straight
# from pytest would report pytest's own peak, which Linux carries over into a child's rusage through exec.
MEASURED_STAGE = """
import resource, subprocess, sys
subprocess.run([sys.executable, *sys.argv[1:]], check=True)
print(f"peak {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024} MB")
"""


def test_the_split_stage_on_thousands_of_near_identical_photos_stays_within_a_memory_bound(tmp_path):
    """Every photo a few levels of noise from one 9 x 8 pattern whose neighbours are 25 levels apart: all share
    one difference hash, so every pair is near, and all but one of them are left out."""
    generator = np.random.default_rng(0)
    pattern = np.stack([generator.permutation(9) * 25 + 20 for _ in range(8)])[:, :, None].repeat(3, axis=2)
    for index in range(BURST):
        pixels = (pattern + generator.integers(-3, 4, pattern.shape)).astype(np.uint8)
        save_image(Image.fromarray(pixels), tmp_path / f"data/raw/{('apple', 'pizza')[index % 2]}/{index:05d}.png")
    for index in range(6):  # and enough other photos for each class to split
        save_image(noise_image(index, (9, 8)), tmp_path / f"data/raw/{('apple', 'pizza')[index % 2]}/other{index}.png")
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    done = subprocess.run(
        [sys.executable, "-c", MEASURED_STAGE, str(REPO / "stages/split.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    report = json.loads((tmp_path / "data/split_report.json").read_text())["duplicates"]
    assert report["left_out"] == BURST - 1 and len(report["groups"]) == 1, done.stderr
    peak = int(done.stdout.split("peak ")[-1].split()[0])
    assert peak < SPLIT_MEMORY_BOUND_MB, f"split's peak RSS was {peak} MB"
