"""Write the page template of `dvc plots show` / `dvc plots diff` with its scripts inlined.

usage: python web/inline_scripts.py web/plots.html web/build/plots.html

The template loads vega, vega-lite and vega-embed from web/node_modules (`npm ci --prefix web`). Inlined, the
page needs no network and no files beside it, so it renders wherever `-o` writes it; .dvc/config points
`plots.html_template` at the output. Without web/node_modules the output keeps DVC's own script tags, which
load from a CDN, and this says so.
"""

import re
import sys
from pathlib import Path

LOCAL_SCRIPT = re.compile(r'<script src="([^"]+)"></script>')
SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)  # a file beside the original, not the page
SCRIPT_END = re.compile(r"</script", re.IGNORECASE)


def inline_script(source: str) -> str:
    """A script element holding the code itself, which must not end the element early."""
    return "<script>" + SCRIPT_END.sub(r"<\\/script", SOURCE_MAP.sub("", source)) + "</script>"


def offline_template(template: Path) -> str:
    """The template with each local script inlined, or with DVC's CDN scripts when one is missing."""
    html = template.read_text(encoding="utf-8")
    scripts = [template.parent / path for path in LOCAL_SCRIPT.findall(html)]
    missing = [path for path in scripts if not path.is_file()]
    if missing:
        print(
            f"{missing[0]} is missing (npm ci --prefix {template.parent}): DVC plots pages will load vega "
            "from a CDN and stay blank offline",
            file=sys.stderr,
        )
        return LOCAL_SCRIPT.sub("", LOCAL_SCRIPT.sub("{scripts}", html, count=1))
    sources = iter(path.read_text(encoding="utf-8") for path in scripts)
    return LOCAL_SCRIPT.sub(lambda match: inline_script(next(sources)), html)


def main(template: Path, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")  # make must never see a half-written template
    partial.write_text(offline_template(template), encoding="utf-8")
    partial.replace(output)


if __name__ == "__main__":
    main(*map(Path, sys.argv[1:3]))
