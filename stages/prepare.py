"""Stage prepare: decode and resize each split's images once into cached uint8 tensors."""

import os
import tempfile
from pathlib import Path

from foodcnn import cli, params
from foodcnn.data.decode import build_image_set
from foodcnn.data.tensors import save_image_set
from foodcnn.io import read_table
from foodcnn.layout import PREPARED_DIR, RAW_DIR, SPLIT_TABLE, SPLITS, prepared, require


def main() -> None:
    settings = params.load()
    require(RAW_DIR, SPLIT_TABLE)
    rows = read_table(SPLIT_TABLE)
    classes = tuple(sorted({row["label"] for row in rows}))
    # The decoded pixels are staged in files on the same disk as the outputs (a system temporary folder may be
    # memory), and removed once saved.
    with tempfile.TemporaryDirectory(dir=PREPARED_DIR.parent, prefix=".prepare.") as staging:
        image_sets = {}
        for split in SPLITS:  # all decoded before any is saved, so a bad file leaves the last good tensors
            chosen = [(row["path"], row["label"]) for row in rows if row["split"] == split]
            image_sets[split] = build_image_set(
                RAW_DIR,
                chosen,
                classes,
                settings.data.image_size,
                settings.data.resize,
                Path(staging) / split,
                workers=os.cpu_count() or 1,
            )
        for split, image_set in image_sets.items():
            save_image_set(prepared(split), image_set)
            print(f"{split}: {tuple(image_set.images.shape)} uint8 images")


if __name__ == "__main__":
    cli.run(main)
