"""Stage backbone: finetune.weights (imagenet, none or a file under weights/) resolved into one cached state
dict, so that the fine-tunes depend on the weights' content, ImageNet's is downloaded once and travels with
the remote, and a file replaced under weights/ re-runs what it feeds."""

from foodcnn import cli, params
from foodcnn.io import save_torch
from foodcnn.layout import BACKBONE
from foodcnn.models.mobilenet import resolve_weights


def main() -> None:
    weights = params.load().finetune.weights
    state_dict = resolve_weights(weights)
    save_torch(BACKBONE, state_dict)
    print(
        f"{BACKBONE}: {len(state_dict)} tensors from {weights}"
        if state_dict
        else f"{BACKBONE}: empty, the fine-tunes start from random weights (finetune.weights: {weights})"
    )


if __name__ == "__main__":
    cli.run(main)
