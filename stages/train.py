"""Stage train: one configuration of the grid (model x learning rate x batch size)."""

import argparse

from foodcnn import cli, params
from foodcnn.data.tensors import load_image_set
from foodcnn.runs import grid_run, train_run
from foodcnn.training import pick_device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True, help="one of train.seeds")
    args = parser.parse_args()
    settings = params.load()
    config = grid_run(settings, args.model, args.lr, args.batch_size, args.seed)
    print(f"training {config.name}")
    train_run(config, settings.train.augment, load_image_set("train"), load_image_set("val"), pick_device(),
              precision=settings.train.precision, channels_last=settings.train.channels_last)


if __name__ == "__main__":
    cli.run(main)
