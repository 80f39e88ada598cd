"""Training one run of the study into its files: checkpoint and per-epoch history."""

import torch

from foodcnn.checkpoint import save_checkpoint
from foodcnn.data.tensors import ImageSet, load_image_set
from foodcnn.devices import compute_device
from foodcnn.history import write_history
from foodcnn.layout import BACKBONE, RunFiles, require
from foodcnn.models import ModelSpec, build_model
from foodcnn.params import MOBILENET, AugmentParams, Params
from foodcnn.runs import RunConfig
from foodcnn.training import FitSettings, fit


def model_spec(config: RunConfig, num_classes: int) -> ModelSpec:
    return ModelSpec(config.model, num_classes, config.dropout, config.trainable_blocks)


def fit_settings(config: RunConfig, params: Params) -> FitSettings:
    """How a run trains: its own hyper-parameters plus the study's augmentation and numeric options."""
    augment: AugmentParams | None = params.train.augment
    if config.model == MOBILENET and not params.finetune.augment:
        augment = None
    return FitSettings(
        config.epochs,
        config.batch_size,
        config.lr,
        config.seed,
        augment,
        params.train.precision,
        params.train.channels_last,
    )


def backbone_state(config: RunConfig) -> dict[str, torch.Tensor] | None:
    """The state dict a fine-tune starts from, as the backbone stage resolved finetune.weights (empty: random
    init); None for the runs trained from scratch."""
    if config.model != MOBILENET:
        return None
    require(BACKBONE)
    return torch.load(BACKBONE, map_location="cpu", weights_only=True)


def train_run(
    config: RunConfig,
    settings: FitSettings,
    train: ImageSet,
    val: ImageSet,
    device: torch.device,
    backbone: dict[str, torch.Tensor] | None = None,
) -> RunFiles:
    """Train one run and write its checkpoint (the best epoch's weights) and its history."""
    torch.manual_seed(config.seed)
    spec = model_spec(config, len(train.classes))
    model = build_model(spec, backbone)
    result = fit(model, train, val, settings, device, config.name)
    files = config.files
    save_checkpoint(files.model, result.best_state, spec, train.classes, config)
    write_history(files.history, result.history)
    return files


def train_prepared(config: RunConfig, params: Params) -> RunFiles:
    """Train one run of the study on the prepared train and val tensors, on the best device available."""
    device = compute_device(params.threads)
    backbone = backbone_state(config)
    return train_run(
        config, fit_settings(config, params), load_image_set("train"), load_image_set("val"), device, backbone
    )
