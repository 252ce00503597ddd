"""Keep the README's code examples identical to the files under examples/, which the tests run.

In README.md, a block included from a file is preceded by a marker line:

    <!-- example: examples/upload_and_list.py -->
    ```python
    ...the file's exact content...
    ```

`python -m tools.readme_examples` checks every marked block (exit 1 and a list of differences), and that
every file under examples/ is included somewhere; `--write` copies the files into the README.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXAMPLES = ROOT / "examples"

_BLOCK = re.compile(
    r"^<!-- example: (?P<path>[^ ]+) -->\n```(?P<lang>[a-z]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL
)


def included(readme: str) -> dict[str, str]:
    """The example blocks of a README: relative path -> the block's text."""
    return {match["path"]: match["body"] for match in _BLOCK.finditer(readme)}


def problems(readme: str, root: Path = ROOT) -> list[str]:
    """What differs between the README's example blocks and the files (empty when all match)."""
    blocks = included(readme)
    found = []
    for path, body in blocks.items():
        file = root / path
        if not file.is_file():
            found.append(f"{path}: included in the README but missing")
        elif file.read_text(encoding="utf-8") != body:
            found.append(
                f"{path}: the README's block differs from the file (python -m tools.readme_examples --write)"
            )
    examples = sorted(
        path.relative_to(root).as_posix() for path in (root / "examples").glob("*") if path.is_file()
    )
    found += [f"{path}: not included in the README" for path in examples if path not in blocks]
    return found


def write(readme: str, root: Path = ROOT) -> str:
    """The README with every marked block replaced by its file's current content."""

    def replace(match: re.Match[str]) -> str:
        body = (root / match["path"]).read_text(encoding="utf-8")
        return f"<!-- example: {match['path']} -->\n```{match['lang']}\n{body}```"

    return _BLOCK.sub(replace, readme)


def main(argv: list[str] | None = None) -> int:
    """Check (default) or rewrite the README's example blocks."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.readme_examples", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--write", action="store_true", help="copy the example files into the README")
    args = parser.parse_args(argv)
    readme = README.read_text(encoding="utf-8")
    if args.write:
        README.write_text(write(readme), encoding="utf-8")
    found = problems(README.read_text(encoding="utf-8"))
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
