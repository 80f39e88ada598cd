"""Stage finetune: MobileNetV2 with a new head; a case says how many last feature blocks also train."""

import argparse

from foodcnn import cli, params
from foodcnn.runs import finetune_run
from foodcnn.trainer import train_prepared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", required=True)
    parser.add_argument("--seed", type=int, required=True, help="one of train.seeds")
    args = parser.parse_args()
    settings = params.load()
    config = finetune_run(settings, args.case, args.seed)
    print(f"training {config.name}: head + last {config.trainable_blocks} blocks, weights {config.weights}")
    train_prepared(config, settings)


if __name__ == "__main__":
    cli.run(main)
