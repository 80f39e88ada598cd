"""Stage prepare: decode and resize each split's images once into cached uint8 tensors."""

import os
from pathlib import Path

from foodcnn import cli, params
from foodcnn.data.split import SPLITS
from foodcnn.data.tensors import PREPARED_DIR, build_image_set, save_image_set
from foodcnn.io import read_table

RAW = Path("data/raw")


def main() -> None:
    settings = params.load()
    rows = read_table("data/split.csv")
    classes = tuple(sorted({row["label"] for row in rows}))
    for split in SPLITS:
        chosen = [(row["path"], row["label"]) for row in rows if row["split"] == split]
        image_set = build_image_set(RAW, chosen, classes, settings.data.image_size, settings.data.resize,
                                    workers=os.cpu_count() or 1)
        save_image_set(PREPARED_DIR / f"{split}.pt", image_set)
        print(f"{split}: {tuple(image_set.images.shape)} uint8 images")


if __name__ == "__main__":
    cli.run(main)
