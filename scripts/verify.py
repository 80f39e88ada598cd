"""Re-hash the DVC cache objects and workspace outputs that dvc.lock names (`make verify`); exit 2 on a mismatch."""

import argparse

from foodcnn import cli, integrity


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    integrity.verify()


if __name__ == "__main__":
    cli.run(main)
