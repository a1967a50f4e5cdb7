"""Every sample in docs/*.md runs against the test Redis.

Per page, in document order, in one namespace:

- a ```python block whose first line is ``# file: NAME`` is written to
  NAME in a scratch directory (the reader saves it as a file);
- other ```python blocks run: those starting with ``>>>`` as doctests
  (their printed output is checked), the rest as plain code;
- a ```sh block whose info string is ``sh run`` runs in bash, in the
  scratch directory, with ``resque`` and ``python`` on PATH.

Every ``resque ...`` command line in a ```sh or ```ini block, and every
inline ``resque ...`` span without placeholders, must parse against the
real CLI (commands and options exist, values have the right types),
whether or not it is run.
"""
from __future__ import annotations

import configparser
import doctest
import os
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

import resque
import resque.client
import resque.registry
from resque import Registry
from resque.cli import main

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.glob("*.md"))
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>```+)(?P<info>[^`\n]*)$")
_SIGNALS = (signal.SIGQUIT, signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2,
            signal.SIGCONT)


@dataclass
class Block:
    """One fenced code block of a page."""

    info: str
    text: str
    line: int  # line number of the first line of code

    @property
    def language(self) -> str:
        return self.info.split()[0] if self.info.split() else ""

    @property
    def words(self) -> list[str]:
        return self.info.split()[1:]


def blocks(path: Path) -> list[Block]:
    """Return the fenced blocks of a Markdown file, in order."""
    found: list[Block] = []
    lines = path.read_text("utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, start = m["fence"], i + 1
        j = start
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        body = [line[len(m["indent"]):] if line.startswith(m["indent"]) else line
                for line in lines[start:j]]
        found.append(Block(m["info"].strip(), "\n".join(body) + "\n", start + 1))
        i = j + 1
    return found


# -- running a page -------------------------------------------------------------


@pytest.fixture
def sandbox(redis_url, r, tmp_path, monkeypatch):
    """A flushed test Redis as the default client, a fresh registry, a scratch dir."""
    registry = Registry()
    for module in (resque, resque.client, resque.registry):
        monkeypatch.setattr(module, "default_registry", registry)
    monkeypatch.setenv("RESQUE_REDIS_URL", redis_url)
    for var in ("REDIS_URL", "QUEUE", "QUEUES", "INTERVAL", "FAILURE_BACKEND", "RESQUE_APP"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    saved_signals = {s: signal.getsignal(s) for s in _SIGNALS}
    modules = set(sys.modules)
    resque.set_client(None)
    yield tmp_path
    client = resque.client._default
    resque.set_client(None)
    if client is not None:
        client.redis.close()
    for s, handler in saved_signals.items():
        signal.signal(s, handler)
    for name in set(sys.modules) - modules:
        if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(tmp_path)):
            del sys.modules[name]


def _file_name(block: Block) -> str | None:
    first = block.text.splitlines()[0] if block.text.strip() else ""
    m = re.fullmatch(r"#\s*file:\s*(\S+)\s*", first)
    return m.group(1) if m else None


def _run_python(block: Block, page: Path, namespace: dict) -> None:
    if block.text.lstrip().startswith(">>>"):
        parser = doctest.DocTestParser()
        test = parser.get_doctest(block.text, namespace, f"{page.name}:{block.line}",
                                  str(page), block.line - 1)
        report: list[str] = []
        runner = doctest.DocTestRunner(
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        runner.run(test, out=report.append, clear_globs=False)
        namespace.update(test.globs)  # DocTest works on a copy
        assert runner.failures == 0, "".join(report)
        return
    # The docs' own samples, run as the reader would paste them.
    code = compile("\n" * (block.line - 1) + block.text, str(page), "exec")
    exec(code, namespace)  # noqa: S102


def _run_shell(block: Block, page: Path, cwd: Path, redis_url: str) -> None:
    env = dict(os.environ, RESQUE_REDIS_URL=redis_url,
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", block.text], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, (
        f"{page.name}:{block.line}: exit {proc.returncode}\n{block.text}\n"
        f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_samples_run(page, sandbox, redis_url):
    namespace: dict = {"__name__": "__main__"}
    ran = 0
    for block in blocks(page):
        name = _file_name(block) if block.language == "python" else None
        if name is not None:
            (sandbox / name).parent.mkdir(parents=True, exist_ok=True)
            (sandbox / name).write_text(block.text, "utf-8")
        elif block.language in ("python", "pycon"):
            _run_python(block, page, namespace)
            ran += 1
        elif block.language == "sh" and "run" in block.words:
            _run_shell(block, page, sandbox, redis_url)
            ran += 1
    assert ran or not any(b.language in ("python", "pycon") for b in blocks(page))


# -- every command line parses ------------------------------------------------------


def _command_lines(block: Block) -> list[str]:
    """Return the ``resque ...`` command lines of a shell or ini block."""
    text = block.text.replace("\\\n", " ")
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if block.language == "ini":
            key, sep, value = line.partition("=")
            if not sep or key.strip() not in ("ExecStart", "ExecReload", "command"):
                continue
            line = value.strip()
        line = re.sub(r"(^|\s)#.*$", "", line)  # a trailing comment
        for part in re.split(r"\s*(?:&&|\|\||;|\||&)\s*", line):
            part = re.sub(r"^(\w+=\S*\s+)+", "", part)  # leading VAR=value assignments
            words = part.split()
            if not words:
                continue
            exe = os.path.basename(words[0])
            if exe == "resque" or words[:3] in (["python", "-m", "resque"], ["python3", "-m", "resque"]):
                out.append(part)
    return out


def _rest(ctx: click.Context) -> list[str]:
    protected = ctx._protected_args if hasattr(ctx, "_protected_args") else ctx.protected_args
    return [*protected, *ctx.args]


def _parse(args: list[str]) -> None:
    """Parse a command line with the real click commands, running nothing."""
    ctx = main.make_context("resque", list(args))
    cmd: click.Command = main
    rest = _rest(ctx)
    while isinstance(cmd, click.Group) and rest:
        name, sub, rest = cmd.resolve_command(ctx, rest)
        assert sub is not None, f"no command {name!r}"
        ctx = sub.make_context(name or "", list(rest), parent=ctx)
        cmd, rest = sub, _rest(ctx) if isinstance(sub, click.Group) else []


def _inline_commands(page: Path) -> list[tuple[str, str]]:
    """Return ``resque ...`` spans of inline code outside fenced blocks.

    Spans with placeholders (``...``, ``<pid>``, ``N``, ``ID``) are left out.
    """
    found = []
    fenced = False
    for number, line in enumerate(page.read_text("utf-8").splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        for span in re.findall(r"`(resque [^`]+)`", line):
            if "..." not in span and "<" not in span and not re.search(r"\b[A-Z]+\b", span):
                found.append((f"{page.name}:{number}", span))
    return found


def _cli_samples() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for block in blocks(page):
            if block.language in ("sh", "ini"):
                found += [(f"{page.name}:{block.line}", line) for line in _command_lines(block)]
        found += _inline_commands(page)
    return found


CLI_SAMPLES = _cli_samples()


@pytest.mark.parametrize("where,line", CLI_SAMPLES, ids=[w for w, _ in CLI_SAMPLES])
def test_documented_command_lines_parse(where, line, monkeypatch):
    for var in ("QUEUE", "QUEUES", "INTERVAL", "COUNT", "PIDFILE", "RESQUE_REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    words = shlex.split(line, comments=True)
    if any("$(" in w or "`" in w for w in words):
        words = [w for w in words if "$(" not in w]
    words = words[3:] if words[0].startswith("python") else words[1:]
    if "--help" in words or "--version" in words:
        return
    try:
        _parse(words)
    except click.exceptions.Exit:
        pass
    except click.ClickException as exc:
        pytest.fail(f"{where}: `{line}` does not parse: {exc.format_message()}")


def test_ini_samples_are_valid():
    for page in PAGES:
        for block in blocks(page):
            if block.language == "ini":
                parser = configparser.ConfigParser(interpolation=None, strict=False)
                parser.optionxform = str  # type: ignore[assignment, method-assign]
                parser.read_string(block.text, source=f"{page.name}:{block.line}")
                assert parser.sections(), f"{page.name}:{block.line}: no section"
