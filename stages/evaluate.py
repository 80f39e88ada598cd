"""Stage evaluate: every model of the study on the test set, once."""

from pathlib import Path

from foodcnn import cli, params
from foodcnn.data.tensors import load_image_set
from foodcnn.evaluation import confusion_rows, per_class_metrics, predict_logits, summary_metrics
from foodcnn.io import read_json, write_json, write_table
from foodcnn.runs import load_checkpoint, study_runs
from foodcnn.training import pick_device


def main() -> None:
    settings = params.load()
    test = load_image_set("test")
    device = pick_device()
    results = {}
    for key, files in study_runs(settings, read_json("metrics/selection.json")).items():
        model, classes = load_checkpoint(files.model)
        predictions = predict_logits(model.to(device), test.images, device).argmax(1)
        results[key] = summary_metrics(test.labels, predictions, len(classes))
        write_table(Path("plots/confusion", f"{key}.csv"), confusion_rows(test.labels, predictions, classes))
        write_table(Path("plots/per_class", f"{key}.csv"), per_class_metrics(test.labels, predictions, classes))
        print(f"{key}: test accuracy {results[key]['accuracy']:.3f}, macro-F1 {results[key]['macro_f1']:.3f}")
    write_json("metrics/test.json", results)


if __name__ == "__main__":
    cli.run(main)
