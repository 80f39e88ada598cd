"""Re-hash the DVC cache objects and workspace outputs that dvc.lock names, and check the run-cache's training
entries against their runs (`make verify`); exit 2 on a mismatch."""

import argparse

from foodcnn import cli, integrity, runcache
from foodcnn.errors import IntegrityError


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    found = []
    for check in (integrity.verify, runcache.verify):  # both speak, whatever the first finds
        try:
            check()
        except IntegrityError as error:
            found.append(str(error))
    if found:
        raise IntegrityError("; ".join(found))


if __name__ == "__main__":
    cli.run(main)
