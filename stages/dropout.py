"""Stage dropout: retrain a grid winner with dropout after the first fully connected layer."""

import argparse

from foodcnn import cli, params
from foodcnn.io import read_json
from foodcnn.layout import SELECTION, require
from foodcnn.runs import dropout_run
from foodcnn.trainer import train_prepared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--p", type=float, required=True, help="dropout probability")
    parser.add_argument("--seed", type=int, required=True, help="one of train.seeds")
    args = parser.parse_args()
    settings = params.load()
    require(SELECTION)
    config = dropout_run(settings, args.model, args.p, args.seed, read_json(SELECTION))
    print(f"training {config.name} at lr {config.lr:g}, batch size {config.batch_size}")
    train_prepared(config, settings)


if __name__ == "__main__":
    cli.run(main)
