"""What every stage entry point shares: one-line errors and the settings from params.yaml."""

import os
import sys
import warnings
from collections.abc import Callable

from foodcnn.errors import FoodCnnError
from foodcnn.numerics import check_cpu_numerics

# The modules whose warnings a user of the project's commands sees: its own, and the entry point being run.
OWN_MODULES = r"(foodcnn|__main__)(\.|$)"


def quiet_libraries() -> None:
    """Show the project's own warnings only. A library's warning is for the developers of code that calls it
    (asyncssh's import of cryptography's DSA types warns eight times, say), and would bury the one line of an
    error; one that a library attributes to the project's call still shows. Warning options given to Python
    (-W, PYTHONWARNINGS) are left as they are."""
    if not sys.warnoptions:
        warnings.filterwarnings("ignore")
        warnings.filterwarnings("default", module=OWN_MODULES)


def run(main: Callable[[], None]) -> None:
    """Run a stage's main, turning user-fixable errors into one line on stderr and exit status 2, with the
    libraries' warnings kept off the terminal.

    The CPU settings are checked first, so a run that cannot reproduce the committed results says so once.
    """
    with warnings.catch_warnings():
        quiet_libraries()
        try:
            warning = check_cpu_numerics(os.environ)
            if warning:
                print(f"warning: {warning}", file=sys.stderr)
            main()
        except FoodCnnError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
