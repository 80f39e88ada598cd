import torch
from sklearn.metrics import precision_recall_fscore_support

from foodcnn.evaluation import confusion_from_rows, confusion_matrix, per_class_metrics, prediction_rows


def predictions(seed: int, count: int = 200, classes: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, classes, (count,), generator=generator)
    noise = torch.randint(0, classes, (count,), generator=generator)
    keep = torch.rand(count, generator=generator) < 0.6
    return labels, torch.where(keep, labels, noise)


def test_per_class_metrics_agree_with_scikit_learn():
    labels, predicted = predictions(0)
    precision, recall, f1, support = precision_recall_fscore_support(labels, predicted, labels=range(5))
    rows = per_class_metrics(labels, predicted, tuple("abcde"))
    assert [row["class"] for row in rows] == list("abcde")
    assert [row["precision"] for row in rows] == [round(float(v), 4) for v in precision]
    assert [row["recall"] for row in rows] == [round(float(v), 4) for v in recall]
    assert [row["f1"] for row in rows] == [round(float(v), 4) for v in f1]
    assert [row["support"] for row in rows] == support.tolist()


def test_a_class_never_predicted_scores_zero_not_nan():
    labels = torch.tensor([0, 1, 2, 2])
    predicted = torch.tensor([0, 1, 1, 1])
    rows = per_class_metrics(labels, predicted, ("a", "b", "c"))
    assert rows[2] == {"class": "c", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}


def test_several_runs_pool_their_counts_and_support_counts_test_images():
    labels, first = predictions(2)
    _, second = predictions(3)
    rows = per_class_metrics(labels, torch.stack([first, second]), tuple("abcde"))
    pooled = per_class_metrics(labels.repeat(2), torch.cat([first, second]), tuple("abcde"))
    assert [row["support"] for row in rows] == torch.bincount(labels, minlength=5).tolist()
    assert [{k: v for k, v in row.items() if k != "support"} for row in rows] == [
        {k: v for k, v in row.items() if k != "support"} for row in pooled
    ]
    assert rows != per_class_metrics(labels, first, tuple("abcde"))


def test_prediction_rows_name_classes_and_round_trip_to_the_confusion_matrix():
    labels, predicted = predictions(1, classes=3)
    logits = torch.nn.functional.one_hot(predicted, 3).double() * 2.0
    classes = ("apple_pie", "pizza", "sushi")
    rows = prediction_rows(logits, labels, tuple(f"{i}.jpg" for i in range(200)), classes, seed=7)
    confidence = round(torch.tensor([2.0, 0.0, 0.0]).softmax(0)[0].item(), 4)
    assert rows[5] == {
        "seed": 7,
        "image": 5,
        "path": "5.jpg",
        "actual": classes[labels[5]],
        "predicted": classes[predicted[5]],
        "confidence": confidence,
    }
    matrix = confusion_from_rows(rows, classes)
    assert torch.equal(matrix, confusion_matrix(labels, predicted, 3))
    assert matrix.sum() == 200 and matrix.trace() == (labels == predicted).sum()
