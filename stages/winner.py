"""Stage winner: a grid winner's configuration trained again at one of train.seeds, the study's model of its role.

The grid's runs choose the configuration; the runs that meet the test set are fresh draws of it, as many as the
dropout retrains and fine-tunes have, so that comparing them is a question about procedures.
"""

import argparse

from foodcnn import cli, params
from foodcnn.io import read_json
from foodcnn.layout import SELECTION, require
from foodcnn.runs import winner_run
from foodcnn.trainer import train_prepared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--seed", type=int, required=True, help="one of train.seeds")
    args = parser.parse_args()
    settings = params.load()
    require(SELECTION)
    config = winner_run(settings, args.model, args.seed, read_json(SELECTION))
    print(f"training {config.name} at lr {config.lr:g}, batch size {config.batch_size}")
    train_prepared(config, settings)


if __name__ == "__main__":
    cli.run(main)
