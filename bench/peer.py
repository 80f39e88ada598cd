"""The whole study as a student would write it: the anchor the project's speed is measured against.

An ordinary PyTorch script, on purpose: a Dataset over data/split.csv that opens each JPEG of data/raw,
torchvision transforms per image, a DataLoader with 2 workers, the project's own model classes, Adam and
cross-entropy, validation every epoch, the best epoch's weights kept. It reads params.yaml for the same
grid, epochs, dropout rates and fine-tune settings, and the images and split that `dvc repro` made. No
tricks a student would not use: no decoded-tensor cache, no batched augmentation, no frozen-feature reuse.

    python bench/peer.py [project folder]    # prints each phase's seconds and the test accuracies
"""

import copy
import csv
import sys
import time
from pathlib import Path

import torch
import yaml
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from foodcnn.models import ModelSpec, build_model
from foodcnn.models.mobilenet import resolve_weights

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class FoodImages(Dataset):
    def __init__(self, root: Path, rows: list[dict], classes: list[str], transform: transforms.Compose) -> None:
        self.root, self.rows, self.transform = root, rows, transform
        self.index = {name: i for i, name in enumerate(classes)}

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        row = self.rows[i]
        image = Image.open(self.root / "data/raw" / row["path"]).convert("RGB")
        return self.transform(image), self.index[row["label"]]


def loaders(root: Path, params: dict, batch_size: int) -> dict[str, DataLoader]:
    size = params["data"]["image_size"]
    augment = params["train"]["augment"]
    resize = [transforms.Resize(size), transforms.CenterCrop(size)]
    finish = [transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    train = transforms.Compose(
        resize
        + [
            transforms.RandomResizedCrop(size, scale=tuple(augment["crop_scale"])),
            transforms.RandomHorizontalFlip(),
            transforms.RandomRotation(augment["rotation"]),
        ]
        + finish
    )
    plain = transforms.Compose(resize + finish)
    with open(root / "data/split.csv") as handle:
        rows = list(csv.DictReader(handle))
    classes = sorted({row["label"] for row in rows})
    return {
        split: DataLoader(
            FoodImages(root, [r for r in rows if r["split"] == split], classes, train if split == "train" else plain),
            batch_size=batch_size,
            shuffle=split == "train",
            num_workers=2,
            persistent_workers=True,
        )
        for split in ("train", "val", "test")
    }


def accuracy(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
            total += len(labels)
    return correct / total


def train(model: nn.Module, data: dict[str, DataLoader], lr: float, epochs: int) -> tuple[nn.Module, float]:
    """Adam and cross-entropy; the weights of the epoch with the best validation accuracy."""
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    loss_function = nn.CrossEntropyLoss()
    best, best_state = -1.0, None
    for _ in range(epochs):
        model.train()
        for images, labels in data["train"]:
            optimizer.zero_grad()
            loss_function(model(images), labels).backward()
            optimizer.step()
        val_accuracy = accuracy(model, data["val"])
        if val_accuracy > best:
            best, best_state = val_accuracy, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return model, best


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    params = yaml.safe_load((root / "params.yaml").read_text())
    seed, epochs = params["train"]["seeds"][0], params["train"]["epochs"]
    classes = 11
    phases, study = {}, {}

    start = time.perf_counter()
    winners = {}
    for name in params["grid"]["model"]:
        for batch_size in params["grid"]["batch_size"]:
            data = loaders(root, params, batch_size)
            for lr in params["grid"]["lr"]:
                torch.manual_seed(seed)
                model, val_accuracy = train(build_model(ModelSpec(name, classes)), data, lr, epochs)
                if name not in winners or val_accuracy > winners[name][0]:
                    winners[name] = (val_accuracy, lr, batch_size, model, data)
    phases["grid"] = time.perf_counter() - start

    start = time.perf_counter()
    for name, (_, lr, _batch_size, model, data) in winners.items():
        study[name] = (model, data)
        final_lr = lr if params["lr"] == "auto" else params["lr"]
        best = None
        for p in params["dropout"]["p"]:
            torch.manual_seed(seed)
            retrained, val_accuracy = train(build_model(ModelSpec(name, classes, dropout=p)), data, final_lr, epochs)
            if best is None or val_accuracy > best[0]:
                best = (val_accuracy, retrained)
        study[f"{name}_dropout"] = (best[1], data)
    phases["dropout"] = time.perf_counter() - start

    start = time.perf_counter()
    finetune = params["finetune"]
    data = loaders(root, params, finetune["batch_size"])
    backbone = resolve_weights(finetune["weights"])
    for case, settings in finetune["cases"].items():
        torch.manual_seed(seed)
        spec = ModelSpec("mobilenet", classes, trainable_blocks=settings["trainable_blocks"])
        model, _ = train(build_model(spec, backbone), data, finetune["lr"], finetune["epochs"])
        study[f"mobilenet_{case}"] = (model, data)
    phases["finetune"] = time.perf_counter() - start

    start = time.perf_counter()
    results = {role: accuracy(model, data["test"]) for role, (model, data) in study.items()}
    phases["evaluate"] = time.perf_counter() - start
    print("phases: " + ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in phases.items()))
    print("test accuracy: " + ", ".join(f"{role} {value:.3f}" for role, value in results.items()))


if __name__ == "__main__":
    main()
