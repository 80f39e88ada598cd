"""What every entry point shares (foodcnn.cli): one-line errors, and the libraries' warnings off the terminal."""

import subprocess
import sys
from pathlib import Path

import pytest

# A library that warns when imported, as asyncssh does with cryptography 51 (eight lines of "DSA is deprecated").
NOISY = 'import warnings\nwarnings.warn("DSA is deprecated", UserWarning)\n'
ENTRY = (
    "import warnings\nfrom foodcnn import cli\n\n"
    'def main():\n    import noisy\n    warnings.warn("the stage\'s own")\n\n'
)


def entry_point(folder: Path, body: str, *options: str) -> subprocess.CompletedProcess:
    (folder / "noisy.py").write_text(NOISY)
    (folder / "stage.py").write_text(ENTRY + body)
    return subprocess.run([sys.executable, *options, "stage.py"], cwd=folder, capture_output=True, text=True)


def test_a_librarys_warning_stays_off_the_terminal_and_the_entry_points_own_shows(tmp_path):
    result = entry_point(tmp_path, "cli.run(main)\n")
    assert result.returncode == 0, result.stderr
    assert "DSA is deprecated" not in result.stderr and "the stage's own" in result.stderr


def test_without_cli_run_the_same_library_warning_shows(tmp_path):
    """The case above, shown to warn at all: what a stage would print without cli.run's filter."""
    assert "DSA is deprecated" in entry_point(tmp_path, "main()\n").stderr


@pytest.mark.parametrize("option", ["-Wdefault", "-Werror"])
def test_warning_options_given_to_python_are_kept(tmp_path, option):
    result = entry_point(tmp_path, "cli.run(main)\n", option)
    assert "DSA is deprecated" in result.stderr
