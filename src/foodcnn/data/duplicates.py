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
DIGEST_BYTES = 16


@dataclass(frozen=True, slots=True)
class Fingerprint:
    digest: bytes  # DIGEST_BYTES of the decoded size and RGB pixels
    dhash: int  # 64-bit difference hash
    colour: tuple[float, float, float]  # mean RGB of the hash's thumbnail


class Fingerprints:
    """Many photos' fingerprints in flat arrays, 48 bytes a photo (as Fingerprint objects, about 300)."""

    def __init__(self) -> None:
        self._digests = bytearray()
        self._hashes = array("Q")
        self._colours = array("d")

    def __len__(self) -> int:
        return len(self._hashes)

    def append(self, found: Fingerprint) -> None:
        if len(found.digest) != DIGEST_BYTES:
            raise ValueError(f"a digest has {DIGEST_BYTES} bytes, not {len(found.digest)}")
        self._digests += found.digest
        self._hashes.append(found.dhash)
        self._colours.extend(found.colour)

    def take_digests(self) -> np.ndarray:
        """One row of two 64-bit words per photo (equal rows, equal digests), handed over: the store lets go of
        them, so that they are freed once compared, before the index of hashes is built."""
        digests, self._digests = self._digests, bytearray()
        return np.frombuffer(digests, dtype=np.uint64).reshape(-1, 2)

    def hashes(self) -> np.ndarray:
        return np.frombuffer(self._hashes, dtype=np.uint64)

    def colours(self) -> np.ndarray:
        return np.frombuffer(self._colours, dtype=np.float64).reshape(-1, 3)


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
    digest = hashlib.blake2b(f"{image.width}x{image.height}:".encode(), digest_size=DIGEST_BYTES)
    digest.update(image.tobytes())
    return Fingerprint(
        digest.digest(), int.from_bytes(bits.tobytes(), "big"), tuple(thumbnail.mean(axis=(0, 1)).tolist())
    )


def hash_blocks(threshold: int) -> list[tuple[int, int]]:
    """(shift, mask) of threshold + 1 contiguous blocks covering the 64 bits: two hashes at most threshold bits
    apart differ in at most threshold blocks, so they agree exactly on at least one (pigeonhole)."""
    count = threshold + 1
    edges = [64 * block // count for block in range(count + 1)]
    return [(start, (1 << (end - start)) - 1) for start, end in zip(edges, edges[1:], strict=False)]


class KeptIndex:
    """Per block value, the kept photos that have it (multi-index hashing) over every photo's hash and colour:
    a query compares only against the kept photos sharing one of its blocks. The buckets are laid out once in
    one array of 4-byte positions, sized by the values the photos have (so no bucket grows and leaves freed
    copies behind): memory that grows with the number of photos, never with the near pairs. A value only one
    photo has gets no bucket, as no other photo looks it up: at threshold 0 or 1 most values are such, and at
    threshold 0 (one 64-bit block) a shared value costs ~140 bytes, 70 a photo if every hash had a twin."""

    def __init__(self, hashes: np.ndarray, colours: np.ndarray, threshold: int) -> None:
        self.threshold = threshold
        self.hashes = hashes
        self.colours = colours
        # Per block (shift, mask, value -> bucket), per bucket its start in `positions` and next free slot: a
        # dict and Python arrays, as a numpy search or scalar update costs about a microsecond a call, per photo.
        self.blocks: list[tuple[int, int, dict[int, int]]] = []
        self.starts = array("q")
        laid_out = 0
        for shift, mask in hash_blocks(threshold):
            values = hashes >> np.uint64(shift)  # one array a photo at a time, sorted in place
            values &= np.uint64(mask)
            values.sort()
            firsts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1], [True])))  # and the end
            shared = np.flatnonzero(np.diff(firsts) > 1)  # the runs of one value two photos or more have
            sizes = np.diff(firsts)[shared]
            buckets = range(len(self.starts), len(self.starts) + len(shared))
            self.blocks.append((shift, mask, dict(zip(values[firsts[shared]].tolist(), buckets, strict=True))))
            self.starts.extend((laid_out + np.cumsum(sizes) - sizes).tolist())
            laid_out += int(sizes.sum())
        self.free = array("q", self.starts)
        self.positions = np.empty(laid_out, dtype=np.int32)

    def _buckets(self, dhash: int) -> list[int]:
        """The buckets of dhash's block values."""
        return [
            bucket for shift, mask, buckets in self.blocks if (bucket := buckets.get(dhash >> shift & mask)) is not None
        ]

    def add(self, position: int) -> None:
        for bucket in self._buckets(int(self.hashes[position])):
            self.positions[self.free[bucket]] = position
            self.free[bucket] += 1

    def entries(self) -> int:
        """The positions held, at most threshold + 1 a kept photo."""
        return sum(self.free) - sum(self.starts)

    def first_match(self, dhash: int, colour: np.ndarray) -> tuple[int, int] | None:
        """(position, distance) of the earliest kept photo within threshold bits and of about the same colour."""
        lists = [
            self.positions[self.starts[bucket] : self.free[bucket]]
            for bucket in self._buckets(dhash)
            if self.free[bucket] > self.starts[bucket]
        ]
        if not lists:
            return None
        candidates = np.concatenate(lists)  # a photo in several of the buckets is compared more than once
        distances = np.bitwise_count(self.hashes[candidates] ^ np.uint64(dhash))
        near = np.flatnonzero(distances <= self.threshold)
        if len(near) == 0:  # the usual answer: the colours are compared only for the few near hashes
            return None
        near = near[np.abs(self.colours[candidates[near]] - colour).max(axis=1) <= COLOUR_TOLERANCE]
        if len(near) == 0:
            return None
        first = near[np.argmin(candidates[near])]  # each bucket is in position order, not their concatenation
        return int(candidates[first]), int(distances[first])


def shared_digests(digests: np.ndarray) -> dict[int, int]:
    """Each position whose digest another position shares, mapped to the first position with that digest: a
    dict of the copies only (usually few), where one of every digest would cost ~100 bytes a photo."""
    by_digest = np.lexsort((digests[:, 1], digests[:, 0]))  # a stable sort: ties stay in position order
    same = np.ones(max(len(digests) - 1, 0), dtype=np.bool_)
    for word in (0, 1):  # a word at a time: a sorted copy of both would cost 16 bytes a photo more at once
        column = digests[by_digest, word]
        same &= column[1:] == column[:-1]
    first_of: dict[int, int] = {}
    for pair in np.flatnonzero(same):  # sorted neighbours with one digest; a run's first is its earliest
        earlier, later = int(by_digest[pair]), int(by_digest[pair + 1])
        first_of[later] = first_of.setdefault(earlier, earlier)
    return first_of


def find_duplicates(
    prints: Fingerprints, threshold: int | None, preferred: np.ndarray | None = None
) -> list[tuple[int, int, int | None]]:
    """The photos to leave out, as (photo, kept photo, distance) with photos numbered as in `prints`, which
    holds them in sorted path order: of each group of copies, one photo is kept and the others are returned.
    Takes the digests out of `prints` (Fingerprints.take_digests).

    Photos are taken in order, those marked `preferred` (a fixed test list) first, then the rest, each by
    sorted path; a photo is left out when it is pixel-identical to a photo already kept, or (threshold not
    None) within threshold bits of one, naming the first such photo in that order. No two kept photos are
    duplicates, and a fixed test photo is never left out in favour of a training photo.
    """
    order: range | np.ndarray = range(len(prints)) if preferred is None else np.argsort(~preferred, kind="stable")
    digests = prints.take_digests()
    copies = shared_digests(digests if preferred is None else digests[order])
    del digests  # the largest array a photo holds: freed before the index is built
    hashes, colours = prints.hashes(), prints.colours()
    if preferred is not None:  # copies in the order photos are taken; without a fixed list, the stored arrays
        hashes, colours = hashes[order], colours[order]
    index = KeptIndex(hashes, colours, threshold) if threshold is not None else None
    kept_of_digest: dict[int, int] = {}  # first position with a shared digest -> the kept photo with it
    duplicates: list[tuple[int, int, int | None]] = []
    for position in range(len(order)):
        digest = copies.get(position)
        if digest is not None and digest in kept_of_digest:
            duplicates.append((int(order[position]), int(order[kept_of_digest[digest]]), None))
            continue
        match = index.first_match(int(hashes[position]), colours[position]) if index is not None else None
        if match is not None:
            duplicates.append((int(order[position]), int(order[match[0]]), match[1]))
            continue
        if digest is not None:
            kept_of_digest[digest] = position
        if index is not None:
            index.add(position)
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
