"""The study's models as others use them: the registry in dvc.yaml, read back from another clone through the
team's remote; `foodcnn predict` against the evaluate stage's predictions; the exported model against PyTorch."""

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from foodcnn import params
from foodcnn.checkpoint import load_checkpoint
from foodcnn.data.augment import normalize
from foodcnn.export import INPUT
from foodcnn.registry import CHOSEN, ONNX, PREPROCESSING, TORCHSCRIPT, artifact_name, model_file
from foodcnn.roles import study_labels
from tests.conftest import REPO
from tests.project import dvc, git, run
from tests.team import clone, remote


def test_dvc_yaml_names_every_role_and_the_chosen_model_in_the_registry():
    from dvc.repo import Repo

    with Repo(str(REPO)) as repo:
        artifacts = repo.artifacts.read()["dvc.yaml"]
    roles = [*study_labels(params.load(REPO / "params.yaml")), CHOSEN]
    assert {name: artifact.path for name, artifact in artifacts.items()} == {
        **{artifact_name(role): model_file(role).as_posix() for role in roles},
        "chosen-onnx": ONNX.as_posix(),
    }
    assert all(artifact.type == "model" and artifact.desc and artifact.labels for artifact in artifacts.values())


@pytest.fixture(scope="module")
def pulled(team, sweep) -> Path:
    """A teammate's clone of the trained tiny study with every output pulled from the team's remote (named apart
    from test_team's clones: the team's folder is shared by the session)."""
    grace = clone(team, "grace")
    remote(grace, "pull")
    return grace


@pytest.fixture(scope="module")
def unpulled(team, sweep) -> Path:
    """A teammate's clone of the trained tiny study with nothing pulled: what it reads comes through the remote."""
    return clone(team, "heidi")


@pytest.mark.slow
def test_another_clone_gets_the_chosen_model_through_the_registry_and_the_remote(team, unpulled, tmp_path):
    from dvc import api  # by name: `dvc` here is tests.project's command runner

    heidi = unpulled
    git(heidi, "tag", "-a", "chosen@v1.0.0", "-m", "the tiny study's chosen model")
    git(heidi, "push", "-q", "origin", "chosen@v1.0.0")
    shown = api.artifacts_show("chosen", repo=str(heidi))
    assert shown == {"rev": git(heidi, "rev-parse", "HEAD").strip(), "path": "models/study/chosen.pt"}
    dvc(
        tmp_path,
        "artifacts",
        "get",
        str(team / "origin.git"),
        "chosen",
        "-o",
        "chosen.pt",
        "--remote-config",
        f"url={team / 'store'}",
    )
    checkpoint = torch.load(tmp_path / "chosen.pt", map_location="cpu", weights_only=True)
    with api.open("models/study/index.json", repo=str(heidi)) as handle:
        index = json.load(handle)
    chosen = index["roles"][index["chosen"]]
    assert checkpoint["config"]["seed"] == chosen["seed"]
    assert (tmp_path / "chosen.pt").read_bytes() == (team / "carol" / chosen["checkpoint"]).read_bytes()


def foodcnn(project: Path, *arguments: str) -> str:
    return run(project, sys.executable, "-m", "foodcnn", *arguments)


@pytest.mark.slow
def test_predict_gives_each_test_photo_the_class_the_evaluate_stage_predicted(pulled, unpulled):
    index = json.loads((pulled / "models/study/index.json").read_text())
    rows = list(csv.DictReader((pulled / f"plots/predictions/{index['chosen']}.csv").open()))
    photos = [f"data/raw/{row['path']}" for row in rows]
    predicted = json.loads(foodcnn(pulled, "predict", "--json", *photos))
    assert predicted["model"] == {
        "role": index["chosen"],
        "seed": index["roles"][index["chosen"]]["seed"],
        "chosen": True,
    }
    assert [photo["top"][0]["class"] for photo in predicted["photos"]] == [row["predicted"] for row in rows]
    # a clone that pulled nothing gets the same from the revision, through the remote
    assert (
        json.loads(foodcnn(unpulled, "predict", "--json", "--rev", "HEAD", *(pulled / p for p in photos[:3])))[
            "photos"
        ][0]["probabilities"]
        == predicted["photos"][0]["probabilities"]
    )


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")  # docs/using-the-model.md
def test_the_exported_models_give_pytorchs_outputs_and_the_class_names_round_trip(pulled):
    import onnxruntime

    model, classes = load_checkpoint(pulled / model_file(CHOSEN))
    test = torch.load(pulled / "data/prepared/test.pt", weights_only=True)
    images = normalize(test["images"])
    with torch.inference_mode():
        expected = model(images).numpy()
    session = onnxruntime.InferenceSession(str(pulled / ONNX), providers=["CPUExecutionProvider"])
    for batch in (images[:1], images):  # the batch axis is dynamic
        (logits,) = session.run(None, {INPUT: batch.numpy()})
        assert np.abs(logits - expected[: len(batch)]).max() <= 1e-4
    traced = torch.jit.load(str(pulled / TORCHSCRIPT))
    with torch.inference_mode():
        assert (traced(images) - torch.from_numpy(expected)).abs().max() <= 1e-4
    described = json.loads((pulled / PREPROCESSING).read_text())
    assert tuple(described["classes"]) == classes == tuple(test["classes"])
    assert described["image_size"] == test["images"].shape[-1]
    assert (described["mean"], described["std"]) == (
        pytest.approx([0.485, 0.456, 0.406]),
        pytest.approx([0.229, 0.224, 0.225]),
    )
