"""README.md and docs/: every relative link resolves, and every command they show is one the project knows.

A command is a line of a fenced code block (in a `console` block, a line after `$ `) or an inline code span
whose first word, after any VAR=value, is make, dvc, python or foodcnn; `&&`, `||`, `;` and `|` separate
commands. Known means: `make` targets in the Makefile (BENCH_ARGS checked as bench/bench.py's options); `dvc`
commands and options by DVC's own parser, with `dvc repro` / `dvc exp run` targets among dvc.yaml's stages and
`-S` keys among params.yaml's; `python path.py` a file whose --help lists the options given (and their
choices); `python -m module` importable; `foodcnn` subcommands and options by its --help. A command that
needs the network or a GPU says so in a trailing `# not run here: <why>` and is checked all the same.
"""

import argparse
import fnmatch
import functools
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
COMMANDS = ("make", "dvc", "python", "foodcnn")
NOT_RUN_HERE = re.compile(r"#\s*not run here:\s*(.*)$")
# The only reasons a command shown may go unrun here.
NOT_RUN_REASONS = re.compile(r"internet|network|download|\bGPU\b|CUDA", re.IGNORECASE)
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w-]*)")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
README_MAX_LINES = 166  # a screen or two; the depth is in docs/ (160 until the README showed foodcnn predict)
# argparse's words for a command line that stops short: allowed in inline code, which may name a command.
INCOMPLETE = re.compile(r"the following arguments are required|expected (one|at least one) argument")


@dataclass(frozen=True)
class Command:
    page: Path
    line: int
    text: str
    not_run_because: str | None  # the reason after `# not run here:`, None when unmarked
    inline: bool = False  # an inline code span: it may name a command without its required arguments

    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}: {self.text}"


def split_page(text: str) -> tuple[list[tuple[int, str, str]], list[tuple[int, str]]]:
    """The page's fenced lines as (line number, block language, line) and its other lines as (number, line)."""
    fenced, prose = [], []
    fence = language = None
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if fence is None and match:
            fence, language = match.group(1), match.group(2).lower()
        elif fence is not None and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            fence = None
        elif fence is not None:
            fenced.append((number, language, line))
        else:
            prose.append((number, line))
    return fenced, prose


def inline_spans(prose: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Inline code spans outside fences, whitespace collapsed (a span may wrap), with the line it starts on."""
    text = "\n".join(line for _, line in prose)
    numbers = [number for number, _ in prose]
    spans = []
    for match in re.finditer(r"(`+)(.+?)\1", text, re.DOTALL):
        spans.append((numbers[text.count("\n", 0, match.start())], " ".join(match.group(2).split())))
    return spans


def commands_of(page: Path, text: str | None = None) -> list[Command]:
    text = page.read_text() if text is None else text
    fenced, prose = split_page(text)
    found = []
    pending = ""
    for number, language, line in fenced:
        if language in ("console", "shell-session"):
            if not line.startswith("$ "):
                continue
            line = line[2:]
        elif language not in ("", "bash", "sh", "shell", "zsh"):
            continue
        if line.rstrip().endswith("\\"):  # a command continued on the next line
            pending += line.strip()[:-1].rstrip() + " "
            continue
        line, pending = pending + line.strip(), ""
        marker = NOT_RUN_HERE.search(line)
        found.append(Command(page, number, line, marker.group(1).strip() if marker else None))
    found += [
        Command(page, number, span, None, inline=True) for number, span in inline_spans(prose) if len(span.split()) > 1
    ]
    return [command for command in found if runs_a_known_program(command.text)]


def runs_a_known_program(text: str) -> bool:
    try:
        return any(words[0] in COMMANDS for words in segments(text))
    except ValueError:  # not shell words (an unbalanced quote): prose in code
        return False


def segments(text: str) -> list[list[str]]:
    """The simple commands of a command line, each as its words without leading VAR=value assignments."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    parts: list[list[str]] = [[]]
    for token in lexer:
        if token and set(token) <= set(";&|"):
            parts.append([])
        else:
            parts[-1].append(token)
    result = []
    for words in parts:
        while words and ASSIGNMENT.match(words[0]):
            words = words[1:]
        if words:
            result.append(words)
    return result


# What the project knows.


@functools.cache
def make_targets() -> frozenset[str]:
    heads = re.findall(
        r"^([A-Za-z0-9_.][^\s:=#$]*(?:[ \t]+[^\s:=#$]+)*)[ \t]*:(?!=)", (REPO / "Makefile").read_text(), re.MULTILINE
    )
    return frozenset(target for head in heads for target in head.split())


@functools.cache
def stage_names() -> tuple[frozenset[str], frozenset[str]]:
    """Every stage as DVC addresses it (train@basic-0.1-32-42, ...), and dvc.yaml's stage and group names."""
    from dvc.repo import Repo

    with Repo(str(REPO)) as repo:
        addressed = frozenset(stage.addressing for stage in repo.index.stages)
    groups = frozenset(yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"])
    return addressed, groups


@functools.cache
def params_keys() -> frozenset[str]:
    def keys(values: dict, prefix: str = "") -> set[str]:
        found = set()
        for key, value in values.items():
            found.add(prefix + str(key))
            if isinstance(value, dict):
                found |= keys(value, f"{prefix}{key}.")
        return found

    return frozenset(keys(yaml.safe_load((REPO / "params.yaml").read_text())))


class ParseError(Exception):
    pass


@functools.cache
def dvc_parser() -> argparse.ArgumentParser:
    """DVC's own command line parser, raising ParseError instead of printing help and exiting."""
    from dvc.cli.parser import get_main_parser

    def fail(self, message, *_):
        raise ParseError(message)

    parser = get_main_parser()
    pending = [parser]
    while pending:
        current = pending.pop()
        current.error = fail.__get__(current)
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending.extend(action.choices.values())
    return parser


def help_text(*argv: str) -> str:
    return _help_text(tuple(argv))


@functools.cache
def _help_text(argv: tuple[str, ...]) -> str:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    result = subprocess.run(
        [sys.executable, *argv, "--help"], cwd=REPO, env=environment, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise ParseError(f"`{' '.join(argv)} --help` failed: {result.stderr.strip()[-500:]}")
    return result.stdout


def check_options(words: list[str], help_output: str, name: str) -> list[str]:
    """Each option in words appears in the help; a value of an option whose help lists {choices} is one of them."""
    problems = []
    choices = {
        option: set(listed.split(",")) for option, listed in re.findall(r"(--?[\w-]+)\s+\{([^}]+)\}", help_output)
    }
    known = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", help_output))
    current = None
    for word in words:
        if word == "--":
            break
        if word.startswith("-") and not re.fullmatch(r"-\d+(\.\d+)?", word):
            option = word.split("=", 1)[0]
            if option not in known:
                problems.append(f"{name} has no option {option}")
            current = option
        elif current in choices and word not in choices[current]:
            problems.append(f"{name} {current} takes one of {', '.join(sorted(choices[current]))}, not {word}")
    return problems


def check_make(words: list[str]) -> list[str]:
    problems = []
    for word in words[1:]:
        if ASSIGNMENT.match(word):
            name, value = word.split("=", 1)
            if name == "BENCH_ARGS":
                problems += check_python(["python", "bench/bench.py", *shlex.split(value)])
        elif word.startswith("-"):
            problems.append(f"make option {word} is not one the documentation should need")
        elif word not in make_targets():
            problems.append(f"the Makefile has no target {word!r}")
    return problems


def check_dvc(words: list[str]) -> list[str]:
    try:
        arguments, unknown = dvc_parser().parse_known_args(words[1:])
    except ParseError as error:
        return [f"DVC does not accept `{' '.join(words)}`: {error}"]
    if unknown:
        return [f"DVC does not know {' '.join(unknown)} in `{' '.join(words)}`"]
    problems = []
    command = [word for word in words[1:4] if not word.startswith("-")]
    if command[:1] == ["repro"] or command[:2] in (["exp", "run"], ["experiments", "run"]):
        addressed, groups = stage_names()
        for target in getattr(arguments, "targets", None) or []:
            if getattr(arguments, "glob", False):
                if not fnmatch.filter(addressed, target):
                    problems.append(f"no stage of dvc.yaml matches {target!r}")
            elif target not in addressed | groups:
                problems.append(f"dvc.yaml has no stage {target!r}")
    for assignment in getattr(arguments, "set_param", None) or []:
        for item in assignment if isinstance(assignment, list) else [assignment]:
            key = item.split("=", 1)[0].lstrip("+~")
            if key not in params_keys():
                problems.append(f"params.yaml has no key {key!r} (in -S {item})")
    return problems


def check_python(words: list[str]) -> list[str]:
    if len(words) < 2:
        return []
    if words[1] == "-m":
        module = words[2]
        if importlib.util.find_spec(module) is None:
            return [f"no module {module}"]
        if module != "pytest":
            return []
        problems = check_options(words[3:], help_text("-m", "pytest", "--noconftest"), "pytest")
        paths = [word for word in words[3:] if not word.startswith("-") and ("/" in word or word.endswith(".py"))]
        return problems + [f"pytest path {path} does not exist" for path in paths if not (REPO / path).exists()]
    script = REPO / words[1]
    if not script.is_file():
        return [f"{words[1]} does not exist"]
    options = [word for word in words[2:] if word.startswith("-")]
    if not options:
        return []
    if "argparse" not in script.read_text():
        return [f"{words[1]} takes no options"]
    try:
        return check_options(words[2:], help_text(words[1]), words[1])
    except ParseError as error:
        return [str(error)]


def check_foodcnn(words: list[str]) -> list[str]:
    if words[1:3] == ["exp", "run"]:  # its -S, -n and -j are `dvc exp run`'s: DVC's parser checks the -S keys too
        return check_dvc(["dvc", *words[1:]]) + check_options(
            words[3:], help_text("-m", "foodcnn", "exp", "run"), "foodcnn exp run"
        )
    try:
        usage = help_text("-m", "foodcnn")
        verbs = set(re.search(r"\{([\w,-]+)\}", usage).group(1).split(","))
        if len(words) < 2 or words[1].startswith("-"):
            return check_options(words[1:], usage, "foodcnn")
        if words[1] not in verbs:
            return [f"foodcnn has no subcommand {words[1]!r} (it has {', '.join(sorted(verbs))})"]
        return check_options(words[2:], help_text("-m", "foodcnn", words[1]), f"foodcnn {words[1]}")
    except ParseError as error:
        return [str(error)]


CHECKS = {"make": check_make, "dvc": check_dvc, "python": check_python, "foodcnn": check_foodcnn}


def command_problems(command: Command) -> list[str]:
    problems = []
    if command.not_run_because is not None and not NOT_RUN_REASONS.search(command.not_run_because):
        problems.append(
            "only a command that needs the network or a GPU may go unrun here, "
            f"not one because {command.not_run_because!r}"
        )
    for words in segments(command.text):
        if words[0] in CHECKS:
            problems += CHECKS[words[0]](words)
    if command.inline:  # `dvc exp apply` in a sentence names the command; its arguments are in the sentence
        problems = [problem for problem in problems if not INCOMPLETE.search(problem)]
    return [f"{command.where()}\n    {problem}" for problem in problems]


# Links.


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors of the page's headings."""
    _, prose = split_page(text)
    anchors = set()
    for _, line in prose:
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower().replace("`", "")).replace(" ", "-")
            anchors.add(slug)
    return anchors


def link_problems(page: Path, text: str | None = None) -> list[str]:
    text = page.read_text() if text is None else text
    _, prose = split_page(text)
    problems = []
    for number, line in prose:
        line = re.sub(r"(`+).+?\1", "", line)  # links inside code spans are code
        for target in re.findall(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", line):
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                continue  # http:, https:, mailto:
            path, _, anchor = target.partition("#")
            where = f"{page.relative_to(REPO)}:{number}: {target}"
            if not path:
                if anchor not in heading_anchors(text):
                    problems.append(f"{where}: no heading with anchor #{anchor}")
                continue
            resolved = (page.parent / path).resolve()
            if not resolved.exists():
                problems.append(f"{where}: no such file")
            elif REPO not in resolved.parents and resolved != REPO:
                problems.append(f"{where}: outside the repository")
            elif anchor and (resolved.suffix != ".md" or anchor not in heading_anchors(resolved.read_text())):
                problems.append(f"{where}: no heading with anchor #{anchor}")
    return problems


# The tests.


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_resolves(page):
    problems = link_problems(page)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_command_shown_is_one_the_project_knows(page):
    commands = commands_of(page)
    problems = [problem for command in commands for problem in command_problems(command)]
    assert not problems, "\n".join(problems)


def test_the_readme_is_short_and_links_every_docs_page():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= README_MAX_LINES
    linked = {(REPO / target).resolve() for target in re.findall(r"\]\(([^)#\s]+)", readme)}
    unlinked = [page.name for page in PAGES[1:] if page.resolve() not in linked]
    assert not unlinked, f"README.md does not link docs/{', docs/'.join(unlinked)}"


def report_cells() -> dict[str, str]:
    """reports/report.md's test numbers by role (`54.5 [44.4, 64.6]`), and each grid winner's configuration and
    chosen dropout p (`basic config`, `basic p`): the committed report, which git holds, unlike results/."""
    tables: dict[str, dict[str, str]] = {}
    header: list[str] = []
    for line in (REPO / "reports/report.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")] if line.startswith("|") else []
        if cells and cells[0] in ("Model", "Case"):
            header = cells
        elif cells and header and not set(cells[0]) <= {"-"}:
            tables.setdefault(
                cells[0], dict(zip(header, cells, strict=False))
            )  # the first table naming it: the study tables
    found = {}
    for role, name in (("basic", "BasicCNN"), ("residual", "ResidualCNN")):
        row = tables[name]
        found |= {
            role: row["Test acc %"],
            f"{role}_dropout": row["Test acc % (dropout)"],
            f"{role} config": row["Selected configuration"],
            f"{role} p": row["Dropout p"],
        }
    return found | {f"mobilenet_{case}": tables[case]["Test acc %"] for case in ("A", "B")}


def test_the_readme_results_table_is_the_committed_metrics_and_report():
    """The findings table of the README quotes metrics/test.json and reports/report.md as committed."""
    import json

    metrics = json.loads((REPO / "metrics/test.json").read_text())
    roles = [role for role in metrics if role != "macro_f1"]
    report = report_cells()
    readme = (REPO / "README.md").read_text()
    section = re.search(r"^## What the study found\n(.*?)^## ", readme, re.MULTILINE | re.DOTALL).group(1)
    rows = {
        cells[0]: cells
        for line in section.splitlines()
        if line.startswith("|") and (cells := [cell.strip() for cell in line.strip("|").split("|")])[0] in roles
    }
    assert set(rows) == set(roles), "one row per study model"
    for role in roles:
        what, accuracy, macro_f1 = rows[role][1:4]
        assert accuracy == report[role] and accuracy.startswith(f"{100 * metrics[role]:.1f} "), (role, accuracy)
        assert macro_f1 == f"{100 * metrics['macro_f1'][role]:.1f}", (role, macro_f1)
        model = role.removesuffix("_dropout")
        if role.endswith("_dropout"):
            assert f"p {report[f'{model} p']}" in what, (role, what)
        elif f"{model} config" in report:
            assert report[f"{model} config"] in what, (role, what)


# The checks can fail.


def test_a_broken_link_an_unknown_anchor_and_a_missing_image_are_found(tmp_path):
    page = REPO / "docs" / "example.md"  # never written: its links resolve from docs/
    text = (
        "[ok](study.md) [ok](../README.md) ![ok](dvc_plots.png) [web](https://example.org/x)\n"
        "[gone](nowhere.md) ![gone](missing.png) [anchor](study.md#no-such-heading) `[code](x.md)`\n"
    )
    problems = link_problems(page, text)
    assert len(problems) == 3 and all(
        name in "\n".join(problems) for name in ("nowhere.md", "missing.png", "#no-such-heading")
    ), problems
    assert not link_problems(page, "[anchor](study.md#the-stages) [here](#a-heading)\n\n## A heading\n")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("make repro JOBS=2", None),
        ("make reproduce", "no target 'reproduce'"),
        ("make repro-paralel JOBS=8", "no target 'repro-paralel'"),
        ('make bench BENCH_ARGS="--only throughput"', None),
        ('make bench BENCH_ARGS="--only thruput"', "takes one of"),
        ("dvc repro --pull --glob 'train@basic-*'", None),
        ("dvc repro --glob 'train@mlp-*'", "no stage of dvc.yaml matches"),
        ("dvc repro trian", "no stage 'trian'"),
        ("dvc exp run -S lr=0.01 finetune", None),
        ("dvc exp run -S train.epoch=3", "no key 'train.epoch'"),
        ("dvc exp run --jobs-count 2", "does not know"),
        ("dvc exp shw", "does not accept"),
        ("dvc metrics diff main", None),
        ("python bench/bench.py --only duplicates", None),
        ("python bench/bench.py --fast", "no option --fast"),
        ("python stages/nothing.py", "does not exist"),
        ("python -m pytest tests/test_docs.py", None),
        ("python -m pytest tests/test_nothing.py", "does not exist"),
        ("foodcnn diff main --json", None),
        ("foodcnn diff main --yaml", "no option --yaml"),
        ("foodcnn difff main", "no subcommand 'difff'"),
        ("git add -A && make push", None),
        ("git add -A && make pushh", "no target 'pushh'"),
        ("FOO=1 dvc status", None),
    ],
)
def test_a_command_the_project_does_not_know_is_found(line, expected):
    commands = commands_of(REPO / "docs" / "example.md", f"```bash\n{line}\n```\n")
    assert len(commands) == 1
    problems = "\n".join(command_problems(commands[0]))
    assert (expected in problems) if expected else not problems, problems


def test_commands_are_read_from_fences_console_prompts_and_inline_code():
    text = (
        "Run `make repro` or `dvc exp run\n-S lr=0.01`, not `dvc.yaml`.\n"
        "```console\n$ dvc metrics diff main\nPath  Metric\n```\n"
        "```\ntree/   dvc.yaml, params.yaml\n```\n"
        "```bash\ndvc exp run -S data.source=food101 \\\n    -S data.image_size=224  # not run here: downloads 5 GB\n"
        "make test  # not run here: too slow\n```\n"
    )
    commands = commands_of(REPO / "README.md", text)
    assert [command.text.split("#")[0].strip() for command in commands] == [
        "dvc metrics diff main",
        "dvc exp run -S data.source=food101 -S data.image_size=224",
        "make test",
        "make repro",
        "dvc exp run -S lr=0.01",
    ]
    assert commands[1].not_run_because == "downloads 5 GB"
    assert not command_problems(commands[1])
    assert "only a command that needs the network or a GPU" in "\n".join(command_problems(commands[2]))
