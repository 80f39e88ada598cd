"""What every stage entry point shares: one-line errors and the settings from params.yaml."""

import os
import sys
from collections.abc import Callable

from foodcnn.errors import FoodCnnError
from foodcnn.numerics import check_cpu_numerics


def run(main: Callable[[], None]) -> None:
    """Run a stage's main, turning user-fixable errors into one line on stderr and exit status 2.

    The CPU settings are checked first, so a run that cannot reproduce the committed results says so once.
    """
    try:
        warning = check_cpu_numerics(os.environ)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
        main()
    except FoodCnnError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
