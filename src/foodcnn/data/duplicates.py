"""Duplicate photos: pixel-identical copies and near-duplicates, so that no photo lands in two splits.

Each image is fingerprinted from the one decode the split stage makes anyway: a digest of its decoded
pixels (a re-saved copy with other bytes or metadata is the same photo) and, for re-compressed or resized
copies, a 64-bit difference hash (dHash: on a 9 x 8 thumbnail, whether each pixel is brighter than its left
neighbour) with the thumbnail's mean colour. Two photos are near-duplicates when their hashes differ in at
most `threshold` bits and their mean colours are close: the hash alone sees only brightness structure,
so it cannot tell two flat images of different colours apart.
"""

import hashlib
from array import array
from dataclasses import dataclass

import numpy as np
from PIL import Image

HASH_SIZE = (9, 8)  # 8 comparisons per row x 8 rows: 64 bits; exact area means (a reducing_gap halves the
# cost at 512 px but shifts the averaging blocks with the image size, and resized copies then drift 9-14 bits)
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601, as Pillow's greyscale
COLOUR_TOLERANCE = 12.0  # levels of 255 per channel; a JPEG re-encode or a resize moves the mean 1-3 levels


@dataclass(frozen=True, slots=True)  # one per photo: no per-instance dict
class Fingerprint:
    digest: str  # of the decoded size and RGB pixels
    dhash: int  # 64-bit difference hash
    colour: tuple[float, float, float]  # mean RGB of the hash's thumbnail


@dataclass(frozen=True)
class Duplicate:
    """A photo left out because it duplicates `kept`; distance None means pixel-identical."""

    path: str
    kept: str
    distance: int | None  # differing bits of the difference hashes

    @property
    def reason(self) -> str:
        if self.distance is None:
            return f"duplicate of {self.kept} (identical pixels)"
        return f"near-duplicate of {self.kept} (difference hash {self.distance} of 64 bits apart)"


def fingerprint(image: Image.Image) -> Fingerprint:
    """The digest, difference hash and mean colour of a decoded RGB image."""
    thumbnail = np.asarray(image.resize(HASH_SIZE, Image.Resampling.BOX), dtype=np.float64)
    grey = thumbnail @ LUMA
    bits = np.packbits(grey[:, 1:] > grey[:, :-1])
    digest = hashlib.blake2b(f"{image.width}x{image.height}:".encode(), digest_size=16)
    digest.update(image.tobytes())
    return Fingerprint(
        digest.hexdigest(), int.from_bytes(bits.tobytes(), "big"), tuple(thumbnail.mean(axis=(0, 1)).tolist())
    )


def hash_blocks(threshold: int) -> list[tuple[int, int]]:
    """(shift, mask) of threshold + 1 contiguous blocks covering the 64 bits: two hashes at most threshold bits
    apart differ in at most threshold blocks, so they agree exactly on at least one (pigeonhole)."""
    count = threshold + 1
    edges = [64 * block // count for block in range(count + 1)]
    return [(start, (1 << (end - start)) - 1) for start, end in zip(edges, edges[1:], strict=False)]


class KeptIndex:
    """The kept photos' hashes and colours, and per block value the kept photos that have it (multi-index
    hashing): a query compares only against the photos sharing one of its blocks, in memory that grows with
    the number of photos, never with the number of near pairs."""

    def __init__(self, capacity: int, threshold: int) -> None:
        self.threshold = threshold
        self.blocks = hash_blocks(threshold)
        self.hashes = np.zeros(capacity, dtype=np.uint64)
        self.colours = np.zeros((capacity, 3), dtype=np.float64)
        # Positions as 8-byte machine integers: a photo is in threshold + 1 buckets, as Python ints 36 bytes each.
        self.buckets: dict[tuple[int, int], array] = {}

    def _keys(self, dhash: int) -> list[tuple[int, int]]:
        return [(block, dhash >> shift & mask) for block, (shift, mask) in enumerate(self.blocks)]

    def add(self, position: int, dhash: int, colour: tuple[float, float, float]) -> None:
        self.hashes[position] = dhash
        self.colours[position] = colour
        for key in self._keys(dhash):
            self.buckets.setdefault(key, array("q")).append(position)

    def first_match(self, dhash: int, colour: tuple[float, float, float]) -> tuple[int, int] | None:
        """(position, distance) of the earliest kept photo within threshold bits and of about the same colour."""
        lists = [self.buckets[key] for key in self._keys(dhash) if key in self.buckets]
        if not lists:
            return None
        candidates = np.unique(np.concatenate([np.frombuffer(positions, dtype=np.int64) for positions in lists]))
        distances = np.bitwise_count(self.hashes[candidates] ^ np.uint64(dhash))
        close = np.abs(self.colours[candidates] - colour).max(axis=1) <= COLOUR_TOLERANCE
        matches = np.flatnonzero((distances <= self.threshold) & close)
        if len(matches) == 0:
            return None
        return int(candidates[matches[0]]), int(distances[matches[0]])  # candidates are sorted: the earliest


def find_duplicates(
    fingerprints: dict[str, Fingerprint], threshold: int | None, preferred: frozenset[str] = frozenset()
) -> list[Duplicate]:
    """The photos to leave out: of each group of copies, one photo is kept and the others are returned.

    Photos are taken in order, the `preferred` ones (a fixed test list) first, then the rest, each by sorted
    path; a photo is left out when it is pixel-identical to a photo already kept, or (threshold not None)
    within threshold bits of one, naming the first such photo in that order. No two kept photos are
    duplicates, and a fixed test photo is never left out in favour of a training photo.
    """
    order = sorted(fingerprints, key=lambda path: (path not in preferred, path))
    index = KeptIndex(len(order), threshold) if threshold is not None else None
    kept_digests: dict[str, str] = {}
    duplicates = []
    for position, path in enumerate(order):
        found = fingerprints[path]
        if found.digest in kept_digests:
            duplicates.append(Duplicate(path, kept_digests[found.digest], None))
            continue
        match = index.first_match(found.dhash, found.colour) if index is not None else None
        if match is not None:
            duplicates.append(Duplicate(path, order[match[0]], match[1]))
            continue
        kept_digests[found.digest] = path
        if index is not None:
            index.add(position, found.dhash, found.colour)
    return duplicates


def duplicate_report(
    duplicates: list[Duplicate], classes: list[str], threshold: int | None, fixed_test: frozenset[str] | None
) -> dict:
    """The duplicates left out per class, each group (the kept photo and its copies) and, with a fixed test
    list, the leaks: training photos left out as copies of a test photo."""
    per_class = {label: {"identical": 0, "near": 0} for label in sorted(classes)}
    groups: dict[str, list[dict]] = {}
    for duplicate in sorted(duplicates, key=lambda d: d.path):
        per_class[duplicate.path.split("/")[0]]["identical" if duplicate.distance is None else "near"] += 1
        groups.setdefault(duplicate.kept, []).append({"path": duplicate.path, "distance": duplicate.distance})
    leaks = None if fixed_test is None else sum(d.kept in fixed_test and d.path not in fixed_test for d in duplicates)
    return {
        "near_duplicates": "off" if threshold is None else threshold,
        "left_out": len(duplicates),
        "test_leaks": leaks,
        "per_class": per_class,
        "groups": [{"kept": kept, "copies": copies} for kept, copies in sorted(groups.items())],
    }
