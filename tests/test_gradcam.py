"""Grad-CAM: where a model looks, for each of the study's networks, and `foodcnn predict --explain`'s figures."""

from pathlib import Path

import pytest
import torch

from foodcnn.data.augment import normalize
from foodcnn.gradcam import heatmaps
from foodcnn.models import ModelSpec, build_model
from foodcnn.predict import load_published_model, predict
from tests.conftest import noise_image, save_image
from tests.test_predict import publish


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec("basic", 3),
        ModelSpec("residual", 3),
        ModelSpec("mobilenet", 3, trainable_blocks=0),
        ModelSpec("mobilenet", 3, trainable_blocks=2),
    ],
    ids=str,
)
def test_every_network_gets_an_image_sized_map_per_photo_scaled_to_at_most_one(spec):
    torch.manual_seed(0)
    model = build_model(spec).eval()
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    with torch.no_grad():  # each photo's own most probable class: what --explain draws
        targets = model(normalize(images)).argmax(1).tolist()
    maps = heatmaps(model, images, targets)
    assert maps.shape == (2, 32, 32)
    assert ((maps >= 0) & (maps <= 1 + 1e-6)).all()
    # an untrained network may find nothing for a class (all zeros), and MobileNetV2's last map at 32 px is
    # one cell: the maps' shape and range are what every network is held to
    assert maps.flatten(1).amax(1).tolist() in ([0, 0], [0, 1], [1, 0], pytest.approx([1, 1]))


def test_predict_explain_writes_one_figure_per_photo_named_after_it(tmp_path, monkeypatch):
    publish(tmp_path, {"basic": 1}, chosen="basic")
    monkeypatch.chdir(tmp_path)
    photos = [
        save_image(noise_image(seed, (20, 20)), tmp_path / "photos" / f"{seed}.jpg").relative_to(tmp_path)
        for seed in (1, 2)
    ]
    predict(photos, load_published_model(None, None), top=1, as_json=False, explain_to=Path("where"))
    written = sorted((tmp_path / "where").iterdir())
    assert [path.name for path in written] == ["photos_1.png", "photos_2.png"]
    assert written[0].read_bytes() != written[1].read_bytes()


def test_the_report_explains_per_class_its_most_confident_right_and_wrong_image_in_class_order():
    from foodcnn.figures import explained_examples

    def row(image: int, actual: str, predicted: str, confidence: float) -> dict:
        return {"image": str(image), "actual": actual, "predicted": predicted, "confidence": str(confidence)}

    rows = [
        row(0, "pizza", "pizza", 0.6),
        row(1, "pizza", "pizza", 0.9),
        row(2, "pizza", "sushi", 0.7),
        row(3, "sushi", "sushi", 0.8),
        row(4, "sushi", "sushi", 0.8),  # a tie goes to the first image
        row(5, "apple", "pizza", 0.5),
    ]
    shown = explained_examples(rows, ("apple", "pizza", "sushi"))
    assert [int(r["image"]) for r in shown] == [5, 1, 2, 3]
