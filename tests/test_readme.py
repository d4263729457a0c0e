"""Every command and code example in README.md runs, against the default model.

The README's fenced blocks are its examples, and a newcomer copies them as they are, so each is run
here as written, in a fresh folder holding a copy of `examples/`:

- ```bash blocks: one `kinema ...` command per line (comments and blank lines aside), run in order;
  the first that fails (exit code not 0, or a traceback on stderr) fails the test.
- ```python blocks: run as a script.
- ```text (the command-line synopsis, with [OPTIONS] placeholders) and ```sh (the two setup
  commands, which build .venv and are what CI itself runs) are shown, not run; they are checked
  for what they may hold. A block in any other language fails, so no example escapes this file.

Relative links in README.md and docs/ must point at files of the repository.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
RUN, SHOWN = ("bash", "python"), ("text", "sh")
SLOW = "kinema train"  # a block that trains is marked slow (it still runs in CI)
TIMEOUT_S = 240


def readme_blocks(text: str) -> list[tuple[str, str, int]]:
    """(language, code, line number of the opening fence) of every fenced block."""
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]


def bash_commands(code: str) -> list[list[str]]:
    """A bash block's commands as argument lists: continuations joined, comments dropped."""
    joined = code.replace("\\\n", " ")
    return [argv for line in joined.splitlines() if (argv := shlex.split(line, comments=True))]


def _cases(language: str):
    for lang, code, line in readme_blocks(README.read_text()):
        if lang == language:
            marks = [pytest.mark.timeout(2 * TIMEOUT_S)] + ([pytest.mark.slow] if SLOW in code else [])
            yield pytest.param(code, id=f"{lang}-line{line}", marks=marks)


def _kinema() -> list[str]:
    """The `kinema` entry point of the interpreter running the tests (a venv's console script)."""
    script = Path(sys.executable).parent / "kinema"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kinema"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh folder with the example images, as a clone's root would have them."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.setenv("KINEMA_CACHE", str(tmp_path / "cache"))  # eval's feature cache stays here
    return tmp_path


def _run(argv: list[str], cwd: Path, what: str) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S)
    problem = f"exit code {proc.returncode}" if proc.returncode else (
        "a traceback on stderr" if "Traceback (most recent call last)" in proc.stderr else None)
    if problem:
        pytest.fail(f"README example failed ({problem}): {what}\n--- stderr (tail) ---\n{proc.stderr[-3000:]}")


@pytest.mark.parametrize("code", list(_cases("bash")))
def test_readme_bash_block_runs(code, workdir):
    commands = bash_commands(code)
    assert commands, "an empty bash block"
    for argv in commands:
        assert argv[0] == "kinema", f"bash blocks hold kinema commands only (no shell syntax): {shlex.join(argv)}"
        _run(_kinema() + argv[1:], workdir, shlex.join(argv))


@pytest.mark.parametrize("code", list(_cases("python")))
def test_readme_python_block_runs(code, workdir):
    script = workdir / "readme_example.py"
    script.write_text(code)
    _run([sys.executable, str(script)], workdir, "\n" + code)


def test_a_failing_example_fails_the_test(workdir):
    """The harness itself: a command that exits non-zero, or a script that raises, is reported."""
    with pytest.raises(pytest.fail.Exception, match="exit code 2"):
        _run(_kinema() + ["no-such-verb"], workdir, "kinema no-such-verb")
    with pytest.raises(pytest.fail.Exception, match="exit code 1"):
        _run([sys.executable, "-c", "raise RuntimeError('boom')"], workdir, "raise")


def test_readme_blocks_are_all_run_or_shown():
    blocks = readme_blocks(README.read_text())
    langs = [lang for lang, _, _ in blocks]
    assert {"bash", "python"} <= set(langs), f"no runnable examples found (blocks: {langs})"
    for lang, code, line in blocks:
        assert lang in RUN + SHOWN, f"README line {line}: a ```{lang or '(no language)'} block is neither run nor shown"
        lines = [s for s in code.splitlines() if s.strip()]
        if lang == "sh":  # the two commands: scripts of this repository
            for s in lines:
                assert re.fullmatch(r"bash (scripts/\S+\.sh)", s) and (ROOT / s.split()[1]).is_file(), s
        if lang == "text":  # the synopsis: kinema commands and their continuation lines
            assert all(s.startswith(("kinema ", " ")) for s in lines), f"README line {line}: not a synopsis"


def _local_links(path: Path) -> list[str]:
    text = path.read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


@pytest.mark.parametrize("page", [README, *sorted((ROOT / "docs").glob("*.md"))], ids=lambda p: p.name)
def test_relative_links_point_into_the_repository(page):
    for target in _local_links(page):
        resolved = (page.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{page.name} links outside the repository: {target}"
        assert resolved.exists(), f"{page.name} links to a missing file: {target}"
