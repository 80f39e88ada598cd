"""Stage params: check params.yaml as a whole, so that a change no other stage reads (a typo such as
`dvc exp run -S +train.epoch=3`) stops the pipeline with one line instead of silently changing nothing; then
remove the runs' files that no stage of dvc.yaml makes any more (`foodcnn tidy`), before a later stage hashes
the runs' folders with them in."""

from pathlib import Path

from foodcnn import cli, leftovers, params


def main() -> None:
    params.check_named_inputs(params.load())
    print("params.yaml: every key known and every value valid")
    found = leftovers.leftovers(Path.cwd())
    leftovers.remove(Path.cwd(), found)
    for path in found:
        print(f"removed {path}: no stage of dvc.yaml makes it")


if __name__ == "__main__":
    cli.run(main)
