"""Stage publish: the study's models under the names dvc.yaml's `artifacts:` give them, one checkpoint per role
(its median seed on validation) and the chosen one (the best role on validation), with index.json saying which."""

import shutil
from pathlib import Path

from foodcnn import cli, params
from foodcnn.io import fresh_dir, write_json
from foodcnn.layout import require
from foodcnn.registry import CHOSEN, INDEX, STUDY_MODELS, model_file, study_index


def main() -> None:
    index = study_index(params.load())
    sources = {role: entry["checkpoint"] for role, entry in index["roles"].items()}
    sources[CHOSEN] = sources[index["chosen"]]
    require(*(Path(source) for source in sources.values()))
    with fresh_dir(STUDY_MODELS) as folder:
        folder.mkdir(parents=True)
        for role, source in sources.items():
            # A byte copy: DVC's cache holds one object for the role's run and its copies here.
            shutil.copyfile(source, model_file(role))
        write_json(INDEX, index)
    for role, entry in index["roles"].items():
        print(f"{role}: seed {entry['seed']} (mean val accuracy {entry['val_accuracy']:.3f})")
    print(f"chosen: {index['chosen']}")


if __name__ == "__main__":
    cli.run(main)
