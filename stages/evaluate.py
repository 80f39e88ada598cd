"""Stage evaluate: the study's models on the test set, once, with intervals and paired comparisons."""

import torch

from foodcnn import cli, params
from foodcnn.checkpoint import load_checkpoint
from foodcnn.data.tensors import load_image_set
from foodcnn.devices import compute_device
from foodcnn.evaluation import per_class_metrics, prediction_rows, predict_logits
from foodcnn.io import read_json, write_json, write_table
from foodcnn.layout import (COMPARISON_METRICS, COMPARISONS, SELECTION, TEST_METRICS, TEST_RESULTS, require,
                            test_outputs)
from foodcnn.selection import study_comparisons, study_models
from foodcnn.statistics import paired_comparison, resample_draws, summary_with_intervals


def headline_metrics(results: dict[str, dict], comparisons: dict[str, dict]) -> tuple[dict, dict]:
    """What `dvc exp show` and `dvc metrics diff` list: numbers only, each role's test accuracy first.

    DVC orders the columns as the metrics files and their keys come, names each by its key path and makes a
    column of strings too. So the roles' accuracies come first, keyed by the role alone (the narrowest headers,
    so that a 120-column terminal holds all six), then macro_f1.<role>, then each comparison's difference and
    p-value; the intervals, the dropout p chosen and the comparisons' models stay in the results files.
    """
    test = {role: result["accuracy"] for role, result in results.items()}
    test["macro_f1"] = {role: result["macro_f1"] for role, result in results.items()}
    return test, {key: {"difference": comparison["difference"], "p_value": comparison["p_value"]}
                  for key, comparison in comparisons.items()}


def main() -> None:
    settings = params.load()
    require(SELECTION)
    test = load_image_set("test")
    device = compute_device(settings.threads)
    models = study_models(settings, read_json(SELECTION))
    # Every model is loaded and run before any file is written, so a missing checkpoint leaves the last results.
    predictions, tables = {}, {}
    for role, study_model in models.items():
        rows, per_seed = [], []
        for seed, run in zip(settings.train.seeds, study_model.runs):
            model, classes = load_checkpoint(run.model)
            logits = predict_logits(model.to(device), test.images, device)
            rows += prediction_rows(logits, test.labels, test.paths, classes, seed)
            per_seed.append(logits.argmax(1))
        predictions[role] = torch.stack(per_seed)
        tables[role] = rows, per_class_metrics(test.labels, predictions[role], classes)
    # One draw of test images for every model, so that the comparisons below are paired.
    draws = resample_draws(len(test), settings.evaluate.bootstrap_resamples, settings.seed)
    # A dropout role's p is what validation chose: a value, so the keys stay the same whichever p wins.
    results = {role: {**({"dropout_p": models[role].dropout} if models[role].dropout else {}),
                      **summary_with_intervals(test.labels, chosen, len(test.classes), draws)}
               for role, chosen in predictions.items()}
    for key, result in results.items():
        low, high = result["accuracy_ci95"]
        print(f"{key}: test accuracy {result['accuracy']:.3f} (95 % CI {low:.3f}-{high:.3f}), "
              f"macro-F1 {result['macro_f1']:.3f}")
    comparisons = {}
    for comparison in study_comparisons(settings, {role: model.validation for role, model in models.items()}):
        result = paired_comparison(test.labels, predictions[comparison.a], predictions[comparison.b], draws)
        comparisons[comparison.key] = {"comparison": comparison.title, "a": comparison.a, "b": comparison.b, **result}
        print(f"{comparison.title}: {comparison.a} - {comparison.b} = {result['difference']:+.3f}, "
              f"p = {result['p_value']:.3f}")
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
