"""Stage evaluate: the study's models on the test set, once, with intervals and paired comparisons."""

import torch

from foodcnn import cli, params
from foodcnn.checkpoint import load_checkpoint
from foodcnn.comparison import Scored, add_verdicts, compare_scored
from foodcnn.data.tensors import load_image_set
from foodcnn.devices import compute_device
from foodcnn.evaluation import per_class_metrics, predict_logits, prediction_rows
from foodcnn.io import write_json, write_table
from foodcnn.layout import COMPARISON_METRICS, COMPARISONS, TEST_METRICS, TEST_RESULTS, test_outputs
from foodcnn.roles import study_labels
from foodcnn.selection import study_comparisons, study_models
from foodcnn.statistics import Resampling, summary_with_intervals


def headline_metrics(results: dict[str, dict], comparisons: dict[str, dict]) -> tuple[dict, dict]:
    """What `dvc exp show` and `dvc metrics diff` list: numbers only, each role's test accuracy first.

    DVC orders the columns as the metrics files and their keys come, names each by its key path and makes a
    column of strings too. So the roles' accuracies come first, keyed by the role alone (the narrowest headers,
    so that a 120-column terminal holds all six), then macro_f1.<role>, then each comparison's accuracy
    difference and its two p-values, each named for its kind (the procedures' only with enough seeds); the
    intervals, the Holm-adjusted p-values and verdicts, the dropout p chosen and the comparisons' models stay
    in the results files.
    """
    test = {role: result["accuracy"] for role, result in results.items()}
    test["macro_f1"] = {role: result["macro_f1"] for role, result in results.items()}
    return test, {
        key: {
            "difference": comparison["accuracy"]["difference"],
            **{
                f"p_{kind}": comparison[kind]["p_value"]
                for kind in ("trained_models", "procedures")
                if "p_value" in comparison[kind]
            },
        }
        for key, comparison in comparisons.items()
    }


def main() -> None:
    settings = params.load()
    test = load_image_set("test")
    device = compute_device(settings.threads)
    models = study_models(settings)
    # Every model is loaded and run before any file is written, so a missing checkpoint leaves the last results.
    predictions, tables = {}, {}
    for role, study_model in models.items():
        rows, per_seed = [], []
        for seed, run in zip(settings.train.seeds, study_model.runs, strict=True):
            model, classes = load_checkpoint(run.model)
            logits = predict_logits(model.to(device), test.images, device)
            rows += prediction_rows(logits, test.labels, test.paths, classes, seed)
            per_seed.append(logits.argmax(1))
        predictions[role] = torch.stack(per_seed)
        tables[role] = rows, per_class_metrics(test.labels, predictions[role], classes)
    # One draw of test images for every model, so that the comparisons below are paired.
    resampling = Resampling(len(test), settings.evaluate.bootstrap_resamples, settings.seed)
    # A dropout role's p is what validation chose: a value, so the keys stay the same whichever p wins.
    results = {
        role: {
            **({"dropout_p": models[role].dropout} if models[role].dropout else {}),
            **summary_with_intervals(test.labels, chosen, len(test.classes), resampling),
        }
        for role, chosen in predictions.items()
    }
    for key, result in results.items():
        low, high = result["accuracy_ci95"]
        print(
            f"{key}: test accuracy {result['accuracy']:.3f} (95 % CI {low:.3f}-{high:.3f}), "
            f"macro-F1 {result['macro_f1']:.3f}"
        )
    comparisons = {}
    for comparison in study_comparisons(settings, {role: model.validation for role, model in models.items()}):
        a, b = (Scored(test.labels, predictions[role], settings.train.seeds) for role in (comparison.a, comparison.b))
        comparisons[comparison.key] = {
            "comparison": comparison.title,
            "a": comparison.a,
            "b": comparison.b,
            **compare_scored(a, b, True, len(test.classes), resampling.resamples, resampling.seed),
        }
    labels = study_labels(settings)
    add_verdicts(list(comparisons.values()), [(labels[c["a"]], labels[c["b"]]) for c in comparisons.values()])
    for comparison in comparisons.values():
        print(
            f"{comparison['comparison']}: {comparison['b']} - {comparison['a']} = "
            f"{comparison['accuracy']['difference']:+.3f}; these trained models: "
            f"{comparison['trained_models']['verdict']}; procedures: {comparison['procedures']['verdict']}"
        )
    for role, (rows, per_class) in tables.items():
        predictions_file, per_class_file = test_outputs(role)
        write_table(predictions_file, rows)
        write_table(per_class_file, per_class)
    write_json(TEST_RESULTS, results)
    write_json(COMPARISONS, comparisons)
    test_metrics, comparison_metrics = headline_metrics(results, comparisons)
    write_json(TEST_METRICS, test_metrics)
    write_json(COMPARISON_METRICS, comparison_metrics)


if __name__ == "__main__":
    cli.run(main)
