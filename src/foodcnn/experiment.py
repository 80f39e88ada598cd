"""`foodcnn exp run`: `dvc exp run`, once the params.yaml it would run passes the params stage's checks.

`dvc exp run` brings the workspace to the experiment's pipeline (a checkout) before any stage runs: a value that
drops stages from the pipeline, such as `-S 'grid.model=[basic,basic]'`, has the outputs of the dropped stages
(models, and the learning curves git tracks) deleted first, and only then does the params stage reject the
value. Checked here first, a rejected value stops with the params stage's one line and changes nothing.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

from foodcnn import params
from foodcnn.errors import ParamsError

PARAMS = "params.yaml"


def params_overrides(dvc_arguments: list[str]) -> list[str]:
    """The `-S/--set-param` overrides of params.yaml among `dvc exp run`'s arguments, parsed as DVC parses them."""
    from dvc.cli import DvcParserError, parse_args
    from dvc.utils.cli_parse import to_path_overrides

    try:
        parsed = parse_args(["exp", "run", *dvc_arguments])
    except DvcParserError:
        sys.exit(2)  # DVC's parser has said which argument, in its own one line
    return to_path_overrides(parsed.set_param or []).get(PARAMS, [])


def check_overrides(overrides: list[str]) -> None:
    """Apply the overrides to a copy of params.yaml as DVC would, and check the copy as the params stage does."""
    from dvc.exceptions import DvcException
    from dvc.utils.hydra import apply_overrides

    with tempfile.TemporaryDirectory() as folder:
        trial = Path(folder) / PARAMS
        shutil.copyfile(PARAMS, trial)
        try:
            apply_overrides(trial, overrides)
        except DvcException as error:  # a malformed or unknown override, in DVC's own words
            raise ParamsError(f"{error}: {' '.join(overrides)}") from error
        params.check_named_inputs(params.load(trial))


def run(dvc_arguments: list[str]) -> None:
    """Check the experiment's params, then hand the terminal to `dvc exp run` with the same arguments."""
    if not Path(PARAMS).is_file():
        raise ParamsError(f"no {PARAMS} here: run `foodcnn exp run` in the project's folder")
    check_overrides(params_overrides(dvc_arguments))
    os.execv(sys.executable, [sys.executable, "-m", "dvc", "exp", "run", *dvc_arguments])
