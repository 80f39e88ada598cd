"""Stage finetune: MobileNetV2 with a new head; a case says how many last feature blocks also train."""

import argparse

from foodcnn import cli, params
from foodcnn.data.tensors import load_image_set
from foodcnn.runs import finetune_run, train_run
from foodcnn.training import pick_device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", required=True)
    parser.add_argument("--seed", type=int, required=True, help="one of train.seeds")
    args = parser.parse_args()
    settings = params.load()
    config = finetune_run(settings, args.case, args.seed)
    print(f"training {config.name}: head + last {config.trainable_blocks} blocks, weights {config.weights}")
    augment = settings.train.augment if settings.finetune.augment else None
    train_run(config, augment, load_image_set("train"), load_image_set("val"), pick_device(),
              precision=settings.train.precision, channels_last=settings.train.channels_last)


if __name__ == "__main__":
    cli.run(main)
