"""The report's comparisons: each kind of verdict in its own table, said as what it is about."""

import torch

from foodcnn.comparison import Scored, add_verdicts, compare_scored
from foodcnn.report import StudyResults, comparisons_section

LABELS = {"basic": "BasicCNN", "residual": "ResidualCNN"}


def side(*accuracies: float) -> Scored:
    """Models right on the first share of 100 images (label 0): the same images, so seeds spread little."""
    right = torch.arange(100).view(1, -1) < torch.tensor([100 * accuracy for accuracy in accuracies]).view(-1, 1)
    return Scored(torch.zeros(100, dtype=torch.long), (~right).long(), tuple(range(len(accuracies))))


def results(a: Scored, b: Scored) -> StudyResults:
    comparison = {
        "comparison": "ResidualCNN vs BasicCNN (grid winners)",
        "a": "basic",
        "b": "residual",
        **compare_scored(a, b, True, 2, resamples=200, seed=0),
    }
    add_verdicts([comparison], [("BasicCNN", "ResidualCNN")])
    return StudyResults({}, [], {}, {}, {}, {"residual_vs_basic": comparison}, [])


def test_with_three_seeds_the_procedures_get_their_own_table_and_verdict():
    text = comparisons_section(results(side(0.4, 0.42, 0.41), side(0.7, 0.69, 0.72)), LABELS)
    models, procedures = text.split("### The training procedures (seeds and test images vary)")
    assert "| Verdict on these trained models |" in models and "ResidualCNN better (these models)" in models
    assert "| 3 / 3 | [+" in procedures and "| ResidualCNN better (procedure) |" in procedures
    assert "(these models)" not in procedures


def test_with_one_seed_the_report_says_its_verdicts_are_about_single_trained_models():
    text = comparisons_section(results(side(0.4), side(0.7)), LABELS)
    assert "| < 0.001 (McNemar exact) |" in text and "ResidualCNN better (these models)" in text
    assert (
        "No verdict about the training procedures: they need 3 trained models (seeds) per side, and this run "
        "has 1 / 1. Every verdict above is about single trained models"
    ) in text
    assert "(procedure)" not in text
