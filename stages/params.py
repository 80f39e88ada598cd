"""Stage params: check params.yaml as a whole, so that a change no other stage reads (a typo such as
`dvc exp run -S +train.epoch=3`) stops the pipeline with one line instead of silently changing nothing."""

from foodcnn import cli, params


def main() -> None:
    params.check_named_inputs(params.load())
    print("params.yaml: every key known and every value valid")


if __name__ == "__main__":
    cli.run(main)
