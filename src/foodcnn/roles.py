"""The study's models by role: the names that key every test-set metric and file, and how tables title them.

A role says what a model is in the study ('basic': BasicCNN's grid winner; 'basic_dropout': that winner
retrained with the p chosen on validation; 'mobilenet_B': a fine-tune case), never a parameter value, so keys and
file names stay the same whatever the seeds, the p values or the winners.
"""

from foodcnn.params import MOBILENET, Params
from foodcnn.runs import config_name

MODEL_TITLES = {"basic": "BasicCNN", "residual": "ResidualCNN", MOBILENET: "MobileNetV2"}


def dropout_role(model: str) -> str:
    return f"{model}_dropout"


def finetune_role(case: str) -> str:
    """A fine-tune case's role is its configuration's name: one configuration per case."""
    return config_name(MOBILENET, 0.0, 0, case=case)


def study_labels(params: Params) -> dict[str, str]:
    """Every study model's role and how tables name it, in table order: 'basic' -> BasicCNN,
    'basic_dropout' -> BasicCNN + dropout, ..., 'mobilenet_B' -> MobileNetV2 B."""
    labels = {}
    for model in params.grid.model:
        labels[model] = MODEL_TITLES[model]
        labels[dropout_role(model)] = f"{MODEL_TITLES[model]} + dropout"
    for case in params.finetune.cases:
        labels[finetune_role(case)] = f"{MODEL_TITLES[MOBILENET]} {case}"
    return labels
