"""Stage train: one configuration of the grid (model x learning rate x batch size)."""

import argparse

from foodcnn import cli, params
from foodcnn.runs import grid_run
from foodcnn.trainer import train_prepared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True, help="one of grid.seeds")
    args = parser.parse_args()
    settings = params.load()
    config = grid_run(settings, args.model, args.lr, args.batch_size, args.seed)
    print(f"training {config.name}")
    train_prepared(config, settings)


if __name__ == "__main__":
    cli.run(main)
