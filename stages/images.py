"""Stage images: write the chosen data source as data/raw/<class>/<file>."""

from foodcnn import cli, params
from foodcnn.data.folder import copy_folder
from foodcnn.data.food101 import write_food101
from foodcnn.data.sample import write_sample
from foodcnn.io import fresh_dir
from foodcnn.layout import RAW_DIR


def main() -> None:
    settings = params.load()
    data = settings.data
    with fresh_dir(RAW_DIR):  # a source that fails (a missing folder, no network) leaves the last images
        if data.source == "food101":
            counts = write_food101(RAW_DIR, data.food101, settings.seed)
        elif data.source == "folder":
            counts = copy_folder(data.folder.path, RAW_DIR)
        else:
            counts = write_sample(RAW_DIR, data.sample.images_per_class, data.sample.image_size, settings.seed)
    print(f"wrote {sum(counts.values())} {data.source} files in {len(counts)} classes to {RAW_DIR}")


if __name__ == "__main__":
    cli.run(main)
