"""Stage export: the chosen model as TorchScript and ONNX, with preprocessing.json describing its input."""

from foodcnn import cli
from foodcnn.checkpoint import load_checkpoint
from foodcnn.export import export_onnx, export_torchscript, preprocessing
from foodcnn.io import fresh_dir, read_json, write_json
from foodcnn.registry import CHOSEN, EXPORT_DIR, INDEX, ONNX, PREPROCESSING, TORCHSCRIPT, model_file, require_published


def main() -> None:
    require_published()
    index = read_json(INDEX)
    model, classes = load_checkpoint(model_file(CHOSEN))
    role = index["chosen"]
    size = index["image_size"]
    with fresh_dir(EXPORT_DIR) as folder:
        folder.mkdir(parents=True)
        export_torchscript(model, size, TORCHSCRIPT)
        export_onnx(model, size, ONNX)
        write_json(PREPROCESSING, preprocessing(size, index["resize"], classes, role, index["roles"][role]["seed"]))
    print(f"exported {role} (seed {index['roles'][role]['seed']}): {TORCHSCRIPT}, {ONNX}, {PREPROCESSING}")


if __name__ == "__main__":
    cli.run(main)
