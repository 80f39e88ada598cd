"""The study's models by role: the names that key every test-set metric and file, and how tables title them.

A role says what a model is in the study ('basic': BasicCNN's grid winner; 'basic_dropout': that winner
retrained with the p chosen on validation; 'mobilenet_B': a fine-tune case), never a parameter value, so keys and
file names stay the same whatever the seeds, the p values or the winners.
"""

from foodcnn.params import MOBILENET
from foodcnn.runs import config_name

MODEL_TITLES = {"basic": "BasicCNN", "residual": "ResidualCNN", MOBILENET: "MobileNetV2"}


def dropout_role(model: str) -> str:
    return f"{model}_dropout"


def finetune_role(case: str) -> str:
    """A fine-tune case's role is its configuration's name: one configuration per case."""
    return config_name(MOBILENET, 0.0, 0, case=case)


def study_label(role: str) -> str:
    """How tables name a study model: 'basic' -> BasicCNN, 'basic_dropout' -> BasicCNN + dropout,
    'mobilenet_B' -> MobileNetV2 B."""
    model, _, rest = role.partition("_")
    title = MODEL_TITLES[model]
    if not rest:
        return title
    return f"{title} {rest}" if model == MOBILENET else f"{title} + dropout"
