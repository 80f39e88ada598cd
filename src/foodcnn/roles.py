"""The study's models by role: the names that key every test-set metric and file, and how tables title them.

A role says what a model is in the study ('basic': BasicCNN's grid winner; 'basic_dropout': that winner
retrained with the p chosen on validation; 'mobilenet_B': a fine-tune case), never a parameter value, so keys and
file names stay the same whatever the seeds, the p values or the winners.
"""

from foodcnn.params import MOBILENET, Params
from foodcnn.runs import config_name


def model_title(model: str) -> str:
    """How tables and figures name a model: the title its architecture registered (BasicCNN), or MobileNetV2."""
    from foodcnn.models import scratch_model  # with torch: only the stages that title a model pay its import

    return "MobileNetV2" if model == MOBILENET else scratch_model(model).title


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
        labels[model] = model_title(model)
        labels[dropout_role(model)] = f"{model_title(model)} + dropout"
    for case in params.finetune.cases:
        labels[finetune_role(case)] = f"{model_title(MOBILENET)} {case}"
    return labels
