"""Stage dropout: retrain a grid winner with dropout after the first fully connected layer."""

import argparse

from foodcnn import cli, params
from foodcnn.data.tensors import load_image_set
from foodcnn.io import read_json
from foodcnn.runs import dropout_run, train_run
from foodcnn.training import pick_device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--p", type=float, required=True, help="dropout probability")
    parser.add_argument("--seed", type=int, required=True, help="one of train.seeds")
    args = parser.parse_args()
    settings = params.load()
    config = dropout_run(settings, args.model, args.p, args.seed, read_json("metrics/selection.json"))
    print(f"training {config.name} at lr {config.lr:g}, batch size {config.batch_size}")
    train_run(config, settings.train.augment, load_image_set("train"), load_image_set("val"), pick_device(),
              precision=settings.train.precision, channels_last=settings.train.channels_last)


if __name__ == "__main__":
    cli.run(main)
