"""The chosen model for runtimes without this project: TorchScript, ONNX with any batch size, and the input it
expects written down.

Both take normalised float images, (N, 3, size, size): preprocessing.json says how to make them from a photo
(decode as upright RGB, resize by its policy to size x size, scale to [0, 1], subtract mean, divide by std),
which is what the project's own reader and normalize do.
"""

import io
import warnings
import zipfile
from pathlib import Path

import torch

from foodcnn.data.augment import IMAGENET_MEAN, IMAGENET_STD
from foodcnn.io import atomic_path

ONNX_OPSET = 17
INPUT, OUTPUT = "images", "logits"


def example_input(size: int) -> torch.Tensor:
    return torch.zeros(1, 3, size, size)


def export_torchscript(model: torch.nn.Module, size: int, path: Path) -> None:
    """A traced TorchScript module: the networks take no data-dependent branches, so tracing records them."""
    with torch.no_grad():
        traced = torch.jit.trace(model.eval(), example_input(size))
    archive = io.BytesIO()  # saved to a file, the archive would be named after the temporary file's random name
    torch.jit.save(traced, archive)
    with atomic_path(path) as temporary:
        temporary.write_bytes(without_debug_info(archive.getvalue()))


def without_debug_info(archive: bytes) -> bytes:
    """The TorchScript archive without its *.debug_pkl records, which hold the absolute paths of the modules'
    source files, and without .data/serialization_id, a hash of the records before it: with them the same model
    saved from two checkouts would be two files. torch.jit.load needs neither."""
    kept = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, zipfile.ZipFile(kept, "w", zipfile.ZIP_STORED) as target:
        for record in source.infolist():
            # each record kept gets a fresh header: the old one pads the record to its offset in the old archive
            if not record.filename.endswith((".debug_pkl", ".data/serialization_id")):
                target.writestr(zipfile.ZipInfo(record.filename, record.date_time), source.read(record))
    return kept.getvalue()


def export_onnx(model: torch.nn.Module, size: int, path: Path) -> None:
    """ONNX with a dynamic batch axis, by torch's TorchScript-based exporter: the dynamo one needs the onnx and
    onnxscript packages, which the study's environment does not install (only the tests check the file)."""
    with torch.no_grad(), atomic_path(path) as temporary, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice, for its developers' callers
        torch.onnx.export(
            model.eval(),
            (example_input(size),),
            str(temporary),
            dynamo=False,
            input_names=[INPUT],
            output_names=[OUTPUT],
            opset_version=ONNX_OPSET,
            dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
        )


def preprocessing(size: int, resize: str, classes: tuple[str, ...], role: str, seed: int) -> dict:
    """What preprocessing.json says: the input the exported model expects and what its outputs name."""
    return {
        "model": {"role": role, "seed": seed},
        "input": {"name": INPUT, "shape": ["batch", 3, size, size], "dtype": "float32", "layout": "NCHW RGB"},
        "image_size": size,
        "resize": resize,
        "resize_policies": {
            "crop": "scale the shorter side to image_size (bilinear), centre-crop",
            "pad": "scale the longer side to image_size (bilinear), pad with black",
        },
        "scale": 1 / 255,
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "output": {"name": OUTPUT, "meaning": "logits; softmax gives each class's probability"},
        "classes": list(classes),
    }
