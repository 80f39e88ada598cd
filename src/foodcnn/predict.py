"""`foodcnn predict`: a study model's class probabilities for a user's photos, read and resized as the
prepare stage reads and resizes the study's images, normalised and run as the evaluate stage runs them.

The model is one the publish stage wrote (registry.py says which role and seed), from the workspace or, with
a revision, from git and DVC's cache or remote as that revision left it.
"""

import csv
import io
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from foodcnn.checkpoint import load_checkpoint
from foodcnn.data.reader import UnreadableImage, is_hidden, load_image_tensor
from foodcnn.errors import DataError, FoodCnnError
from foodcnn.evaluation import INFERENCE_BATCH_SIZE, predict_logits
from foodcnn.io import read_json
from foodcnn.registry import INDEX, model_file, resolve_role

CPU = torch.device("cpu")


@dataclass(frozen=True)
class PublishedModel:
    """A model the publish stage wrote, loaded, with what reading a photo for it takes."""

    role: str
    seed: int
    chosen: bool
    network: nn.Module
    classes: tuple[str, ...]
    image_size: int
    resize: str

    def describe(self) -> str:
        chosen = " (chosen: the best validation accuracy of the study's roles)" if self.chosen else ""
        return f"model: {self.role}{chosen}, seed {self.seed} (the role's median on validation)"


def missing(path: Path, rev: str | None) -> FoodCnnError:
    if rev is None:
        return FoodCnnError(
            f"{path} is missing: `dvc pull {path}` fetches it from the team's remote (`make pull` "
            f"fetches every output), `dvc repro publish` makes it"
        )
    return FoodCnnError(
        f"{path} at {rev} is in neither DVC's cache nor its remote: push it from the machine that "
        f"made it, or check out {rev} and run `dvc repro publish`"
    )


def fetch(path: Path, rev: str, folder: Path) -> Path:
    """A file as revision `rev` left it, copied under `folder`: from git, or from DVC's cache or remote."""
    import dvc.api
    from dvc.exceptions import DvcException, PathMissingError
    from dvc.scm import RevError

    try:
        with dvc.api.open(path.as_posix(), rev=rev, mode="rb") as source:
            data = source.read()
    except RevError as error:
        raise FoodCnnError(f"--rev {rev}: not a revision of this repository") from error
    except PathMissingError as error:
        raise FoodCnnError(f"--rev {rev}: no {path} there (a revision before the publish stage)") from error
    except (FileNotFoundError, DvcException) as error:
        raise missing(path, rev) from error
    copy = folder / path
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(data)
    return copy


def load_published_model(role: str | None, rev: str | None) -> PublishedModel:
    """The model of `role` (default: the chosen one) in the workspace, or at revision `rev`."""
    if not Path("dvc.yaml").is_file():
        raise FoodCnnError("no dvc.yaml here: run `foodcnn predict` in the project's folder")
    with tempfile.TemporaryDirectory() as folder:

        def local(path: Path) -> Path:
            if rev is not None:
                return fetch(path, rev, Path(folder))
            if not path.exists():
                raise missing(path, rev)
            return path

        index = read_json(local(INDEX))
        name = resolve_role(index, role)
        network, classes = load_checkpoint(local(model_file(name)))
    return PublishedModel(
        name,
        index["roles"][name]["seed"],
        name == index["chosen"],
        network,
        classes,
        index["image_size"],
        index["resize"],
    )


def photo_tensor(path: Path, model: PublishedModel) -> torch.Tensor:
    """One photo as the study's uint8 (3, size, size) tensor, or the data path's one line on why it is not."""
    if not path.is_file():
        raise DataError(f"{path}: no such photo or folder")
    try:
        return load_image_tensor(path, model.image_size, model.resize)
    except UnreadableImage as error:
        raise DataError(f"{path}: {error.reason}") from error


def probabilities(model: PublishedModel, images: list[torch.Tensor]) -> torch.Tensor:
    """Softmax probabilities, (photos, classes), each row summing to 1."""
    return predict_logits(model.network, torch.stack(images), CPU).double().softmax(1)


def folder_photos(folder: Path, classes: tuple[str, ...]) -> list[tuple[Path, str]]:
    """Every visible file under `folder` with its actual class: the name of the sub-folder it is in, as the
    folder data source lays classes out, or '' for a file directly in `folder`."""
    photos = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not any(is_hidden(Path(part)) for part in relative.parts):
            photos.append((path, relative.parts[0] if len(relative.parts) > 1 else ""))
    unknown = sorted({actual for _, actual in photos} - {"", *classes})
    if unknown:
        raise DataError(
            f"{folder}: sub-folders {', '.join(unknown)} are not classes of the model, which knows "
            f"{', '.join(classes)}: name sub-folders after classes, or give the photos themselves"
        )
    return photos


def folder_rows(folder: Path, model: PublishedModel) -> list[dict]:
    """One row per photo under `folder`: photo, actual class if its sub-folder names one, the predicted class,
    its probability, and every class's probability. Files that are not photos are left out, each said on stderr."""
    photos = folder_photos(folder, model.classes)
    labelled = any(actual for _, actual in photos)
    rows = []
    for start in range(0, len(photos), INFERENCE_BATCH_SIZE):  # decoded a batch at a time: any folder fits
        batch = []
        for path, actual in photos[start : start + INFERENCE_BATCH_SIZE]:
            try:
                batch.append((path, actual, load_image_tensor(path, model.image_size, model.resize)))
            except UnreadableImage as error:
                print(f"skipped {path}: {error.reason}", file=sys.stderr)
        if not batch:
            continue
        for (path, actual, _), row in zip(
            batch, probabilities(model, [image for *_, image in batch]).tolist(), strict=True
        ):
            best = max(range(len(row)), key=row.__getitem__)
            rows.append(
                {
                    "photo": path.as_posix(),
                    **({"actual": actual} if labelled else {}),
                    "predicted": model.classes[best],
                    "probability": round(row[best], 6),
                    **{name: round(p, 6) for name, p in zip(model.classes, row, strict=True)},
                }
            )
    return rows


def ranked(classes: tuple[str, ...], row: list[float], top: int) -> list[tuple[str, float]]:
    return sorted(zip(classes, row, strict=True), key=lambda pair: -pair[1])[:top]


def photo_table(path: Path, classes: tuple[str, ...], row: list[float], top: int) -> str:
    lines = [f"| {path.as_posix()} | probability |", "|---|---:|"]  # the photo heads its classes' column
    lines += [f"| {name} | {p:.3f} |" for name, p in ranked(classes, row, top)]
    return "\n".join(lines) + "\n"


def csv_text(rows: list[dict]) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        # fixed decimals: Python writes a small probability as 1.1e-05, which some spreadsheets read as text
        writer.writerows(
            {key: f"{value:.6f}" if isinstance(value, float) else value for key, value in row.items()} for row in rows
        )
    return out.getvalue()


def explain(
    photos: list[Path], images: list[torch.Tensor], rows: list[list[float]], model: PublishedModel, folder: Path
) -> None:
    """A Grad-CAM figure per photo for its most probable class, in `folder`, each path said on stderr."""
    from foodcnn.gradcam import heatmaps, save_explanations

    best = [max(range(len(row)), key=row.__getitem__) for row in rows]
    maps = heatmaps(model.network, torch.stack(images), best)
    named = {
        "_".join(path.with_suffix("").parts).lstrip("_"): (
            image,
            heat,
            f"{path.name}: {model.classes[b]} {row[b]:.3f} ({model.role})",
        )
        for path, image, heat, b, row in zip(photos, images, maps, best, rows, strict=True)
    }
    for written in save_explanations(folder, named):
        print(f"wrote {written}", file=sys.stderr)


def predict(paths: list[Path], model: PublishedModel, top: int, as_json: bool, explain_to: Path | None = None) -> str:
    """What `foodcnn predict` writes to stdout: per photo a table of its `top` classes, per folder a CSV (so that
    `foodcnn predict FOLDER > photos.csv` is one), or all as JSON; with `explain_to`, a Grad-CAM figure there
    for each photo given by name. A photo that cannot be read stops everything with one line before any output."""
    if top < 1:  # more than the model's classes shows them all
        raise FoodCnnError(f"--top must be at least 1 (got {top})")
    photos = [path for path in paths if not path.is_dir()]
    images = [photo_tensor(path, model) for path in photos]
    rows = probabilities(model, images).tolist() if photos else []
    by_photo = dict(zip(photos, rows, strict=True))
    if explain_to is not None and photos:
        explain(photos, images, rows, model, explain_to)
    folders = {path: folder_rows(path, model) for path in paths if path.is_dir()}
    if as_json:
        import json

        return (
            json.dumps(
                {
                    "model": {"role": model.role, "seed": model.seed, "chosen": model.chosen},
                    "photos": [
                        {
                            "photo": path.as_posix(),
                            "top": [
                                {"class": name, "probability": round(p, 6)}
                                for name, p in ranked(model.classes, row, top)
                            ],
                            "probabilities": {name: round(p, 6) for name, p in zip(model.classes, row, strict=True)},
                        }
                        for path, row in by_photo.items()
                    ],
                    "folders": {path.as_posix(): rows for path, rows in folders.items()},
                },
                indent=2,
            )
            + "\n"
        )
    return "\n".join(
        csv_text(folders[path]) if path in folders else photo_table(path, model.classes, by_photo[path], top)
        for path in paths
    )
