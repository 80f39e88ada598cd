"""What every stage entry point shares: one-line errors and the settings from params.yaml."""

import sys
from collections.abc import Callable

from foodcnn.errors import FoodCnnError


def run(main: Callable[[], None]) -> None:
    """Run a stage's main, turning user-fixable errors into one line on stderr and exit status 2."""
    try:
        main()
    except FoodCnnError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
