"""Stage images: write the chosen data source as data/raw/<class>/<file>."""

import shutil
from pathlib import Path

from foodcnn import cli, params
from foodcnn.data.sample import write_sample

RAW = Path("data/raw")


def main() -> None:
    settings = params.load()
    shutil.rmtree(RAW, ignore_errors=True)
    sample = settings.data.sample
    counts = write_sample(RAW, sample.images_per_class, sample.image_size, settings.seed)
    print(f"wrote {sum(counts.values())} sample images in {len(counts)} classes to {RAW}")


if __name__ == "__main__":
    cli.run(main)
