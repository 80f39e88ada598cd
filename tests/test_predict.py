"""`foodcnn predict` and the registry's choices, on a small generated project: two roles of a 3-class BasicCNN
and a few photos."""

import csv
import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from foodcnn.checkpoint import save_checkpoint
from foodcnn.data.reader import load_image_tensor
from foodcnn.errors import DataError, FoodCnnError
from foodcnn.evaluation import predict_logits
from foodcnn.io import write_json
from foodcnn.layout import RunFiles
from foodcnn.models import ModelSpec, build_model
from foodcnn.predict import load_published_model, predict
from foodcnn.registry import INDEX, median_seed, model_file, resolve_role
from foodcnn.selection import StudyModel
from tests.conftest import REPO, noise_image, save_image

CLASSES = ("apple", "bread", "curry")
SIZE = 16


@dataclass(frozen=True)
class Config:
    seed: int


def publish(root: Path, roles: dict[str, int], chosen: str) -> None:
    """What the publish stage leaves: a checkpoint per role (and the chosen one's copy) and index.json."""
    (root / "dvc.yaml").write_text("stages: {}\n")
    for role, seed in {**roles, "chosen": roles[chosen]}.items():
        torch.manual_seed(seed)
        network = build_model(ModelSpec("basic", num_classes=len(CLASSES)))
        save_checkpoint(
            root / model_file(role), network.state_dict(), ModelSpec("basic", len(CLASSES)), CLASSES, Config(seed)
        )
    write_json(
        root / INDEX,
        {
            "chosen": chosen,
            "image_size": SIZE,
            "resize": "crop",
            "roles": {
                role: {"seed": seed, "checkpoint": f"models/winner/{role}_seed{seed}.pt", "val_accuracy": 0.5}
                for role, seed in roles.items()
            },
        },
    )


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    publish(tmp_path, {"basic": 1, "residual": 2}, chosen="residual")
    for index, label in enumerate(CLASSES):
        save_image(noise_image(index, (24, 20)), tmp_path / "photos" / label / f"{index}.jpg")
    save_image(noise_image(9), tmp_path / "photos" / "loose.png")
    (tmp_path / "photos" / "notes.txt").write_text("not a photo")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_photo_gets_the_chosen_models_classes_ranked_with_probabilities_summing_to_one(project):
    model = load_published_model(None, None)
    assert (model.role, model.seed, model.chosen) == ("residual", 2, True)
    photo = Path("photos/apple/0.jpg")
    result = json.loads(predict([photo], model, top=2, as_json=True))
    entry = result["photos"][0]
    assert result["model"] == {"role": "residual", "seed": 2, "chosen": True}
    assert sum(entry["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    assert [t["class"] for t in entry["top"]] == sorted(CLASSES, key=lambda c: -entry["probabilities"][c])[:2]
    # the same reading and normalisation as the evaluate stage's
    logits = predict_logits(model.network, load_image_tensor(photo, SIZE, "crop")[None], torch.device("cpu"))
    assert entry["top"][0]["class"] == CLASSES[logits.argmax().item()]


def test_the_table_names_the_model_and_shows_top_classes(project):
    model = load_published_model("basic", None)
    assert model.describe() == "model: basic, seed 1 (the role's median on validation)"
    lines = predict([Path("photos/apple/0.jpg")], model, top=3, as_json=False).splitlines()
    assert lines[:2] == ["| photos/apple/0.jpg | probability |", "|---|---:|"]
    assert len([line for line in lines if line.startswith("| ") and "probability" not in line]) == 3


def test_a_folder_gives_a_csv_with_actual_classes_from_sub_folders_and_skips_what_is_not_a_photo(project, capsys):
    output = predict([Path("photos")], load_published_model(None, None), top=5, as_json=False)
    rows = list(csv.DictReader(io.StringIO(output)))  # one folder: stdout is one CSV
    assert [row["photo"] for row in rows] == [
        "photos/apple/0.jpg",
        "photos/bread/1.jpg",
        "photos/curry/2.jpg",
        "photos/loose.png",
    ]
    assert [row["actual"] for row in rows] == [*CLASSES, ""]
    for row in rows:
        assert sum(float(row[name]) for name in CLASSES) == pytest.approx(1, abs=1e-5)
        assert row["predicted"] == max(CLASSES, key=lambda name: float(row[name]))
    assert "skipped photos/notes.txt: not an image file type (.txt)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: root / "missing.jpg", "missing.jpg: no such photo or folder"),
        (lambda root: save_text(root / "notes.txt", "hello"), "notes.txt: not an image file type (.txt)"),
        (lambda root: save_text(root / "empty.jpg", ""), "empty.jpg: empty file"),
        (
            lambda root: save_text(root / "broken.jpg", "not a jpeg"),
            "broken.jpg: cannot decode (not a known image format)",
        ),
    ],
)
def test_a_photo_that_cannot_be_read_is_the_data_paths_one_line(project, make, message):
    path = make(project).relative_to(project)
    with pytest.raises(DataError, match=f"^{message}$".replace("(", r"\(").replace(")", r"\)")):
        predict([path], load_published_model(None, None), top=1, as_json=False)


def save_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_sub_folders_that_are_not_the_models_classes_are_one_line(project):
    save_image(noise_image(5), project / "other" / "durian" / "a.jpg")
    with pytest.raises(
        DataError, match="^other: sub-folders durian are not classes of the model, which knows apple, bread, curry"
    ):
        predict([Path("other")], load_published_model(None, None), top=1, as_json=False)


def test_a_missing_model_says_how_to_get_it_and_a_wrong_role_or_top_lists_the_choices(project):
    with pytest.raises(
        FoodCnnError,
        match=r"^--role mobilenet_A: not a model of this study; the roles are basic, "
        r"residual \(default: the chosen one, residual\)$",
    ):
        load_published_model("mobilenet_A", None)
    with pytest.raises(FoodCnnError, match=r"^--top must be at least 1 \(got 0\)$"):
        predict([Path("photos/apple/0.jpg")], load_published_model(None, None), top=0, as_json=False)
    model_file("basic").unlink()
    with pytest.raises(
        FoodCnnError,
        match=r"^models/study/basic.pt is missing: `dvc pull models/study/basic.pt` "
        r"fetches it from the team's remote",
    ):
        load_published_model("basic", None)


def test_the_command_prints_errors_in_one_line_with_status_2(project):
    result = subprocess.run([sys.executable, "-m", "foodcnn", "predict", "missing.jpg"], capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", "error: missing.jpg: no such photo or folder\n")
    outside = subprocess.run(
        [sys.executable, "-m", "foodcnn", "predict", "x.jpg"], capture_output=True, text=True, cwd=project / "photos"
    )
    assert outside.stderr == "error: no dvc.yaml here: run `foodcnn predict` in the project's folder\n"
    unknown = subprocess.run(
        [sys.executable, "-m", "foodcnn", "predict", "x.jpg", "--rev", "no-such-revision"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert unknown.stderr == "error: --rev no-such-revision: not a revision of this repository\n"


def study_model(tmp_path: Path, accuracies: list[float], losses: list[float]) -> StudyModel:
    runs = []
    for seed, (accuracy, loss) in enumerate(zip(accuracies, losses, strict=True)):
        files = RunFiles(tmp_path / f"{seed}.pt", tmp_path / f"{seed}.tsv")
        files.history.write_text(
            f"epoch\ttrain_loss\ttrain_accuracy\tval_loss\tval_accuracy\n1\t1.0\t0.5\t{loss}\t{accuracy}\n"
        )
        runs.append(files)
    return StudyModel(runs, {})


def test_a_roles_model_is_its_median_seed_on_validation(tmp_path):
    model = study_model(tmp_path, [0.6, 0.4, 0.5], [1.0, 1.0, 1.0])
    assert median_seed(model, (43, 44, 45)) == (45, tmp_path / "2.pt")
    tied = study_model(tmp_path, [0.5, 0.5, 0.5], [0.9, 1.1, 1.0])
    assert median_seed(tied, (43, 44, 45))[0] == 45  # the median validation loss too
    assert median_seed(study_model(tmp_path, [0.7, 0.3], [1.0, 1.0]), (43, 44))[0] == 44  # the lower middle one


def test_no_role_or_chosen_is_the_chosen_one():
    index = {"chosen": "residual", "roles": {"basic": {}, "residual": {}}}
    assert [resolve_role(index, role) for role in (None, "chosen", "basic")] == ["residual", "residual", "basic"]
