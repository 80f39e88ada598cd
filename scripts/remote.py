"""Push to or pull from the team's DVC remote (`make push`, `make pull`): data, models and the run-cache."""

import argparse

from foodcnn import cli, remote


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("direction", choices=["push", "pull"])
    if parser.parse_args().direction == "push":
        remote.push()
    else:
        remote.pull()


if __name__ == "__main__":
    cli.run(main)
