"""The sdist and wheel: built warning-free, installable with and without Cython or a compiler."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]


def _run(*cmd: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> str:
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "RESQUE_NO_EXTENSIONS", "PYTHONPATH")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """Build the sdist and the wheel (from that sdist) once, as a release would."""
    out_dir = tmp_path_factory.mktemp("dist")
    log = _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out_dir), str(ROOT),
               env=_clean_env())
    warnings = [line for line in log.splitlines() if "warn" in line.lower()]
    assert warnings == [], warnings
    [sdist] = out_dir.glob("resque-*.tar.gz")
    [wheel] = out_dir.glob("resque-*.whl")
    return {"sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    """A folder with setuptools only: isolated builds find no Cython in it."""
    house = tmp_path_factory.mktemp("wheelhouse")
    out = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                          "--only-binary=:all:", "-d", str(house), "setuptools>=77"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        if os.environ.get("CI"):
            raise AssertionError(out.stderr)
        pytest.skip(f"no package registry to fetch setuptools from: {out.stderr[-300:]}")
    return house


def _install(tmp_path: Path, target: Path, house: Path | None, **env: str) -> Path:
    """Install ``target`` into a fresh venv, offline; return the venv's python."""
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = venv / "bin" / "python"
    links = ["--find-links", str(house)] if house else []
    _run(sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index",
         "--no-deps", *links, str(target), env=_clean_env(**env))
    return python


def _implementation(python: Path) -> tuple[str, str]:
    """Import the installed package (its dependencies from this venv); return (impl, file)."""
    code = "import resque; print(resque.implementation()); print(resque.__file__)"
    deps = sysconfig.get_paths()["purelib"]
    out = _run(str(python), "-c", code, env=_clean_env(PYTHONPATH=deps), cwd=python.parent)
    impl, file = out.split()[:2]
    return impl, file


def test_the_sdist_carries_the_tests_their_helpers_the_license_and_the_c_file(dist):
    with tarfile.open(dist["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in ("LICENSE", "conftest.py", "tests/helpers.py", "tests/jobs.py",
                   "tests/data/ruby-json-vectors.json", "ext/_speedups.pyx", "ext/_speedups.c",
                   "tools/build_backend.py", "resque/lua/cycle.lua", "resque/web/templates/layout.html"):
        assert needed in names, needed
    assert not any(n.endswith((".so", ".pyc")) for n in names)


def test_the_sdist_installs_pure_python_without_cython_or_a_compiler(dist, wheelhouse, tmp_path):
    python = _install(tmp_path, dist["sdist"], wheelhouse, CC="/bin/false", LDSHARED="/bin/false")
    impl, file = _implementation(python)
    assert impl == "python" and file.startswith(str(tmp_path))
    assert not list((tmp_path / "venv").rglob("_speedups*.so"))


def test_the_sdist_compiles_its_c_file_without_cython(dist, wheelhouse, tmp_path):
    python = _install(tmp_path, dist["sdist"], wheelhouse)
    impl, file = _implementation(python)
    assert impl == "cython" and file.startswith(str(tmp_path))


def test_the_wheel_installs_compiled_with_its_license(dist, tmp_path):
    python = _install(tmp_path, dist["wheel"], None)
    impl, file = _implementation(python)
    assert impl == "cython" and file.startswith(str(tmp_path))
    assert list((tmp_path / "venv").rglob("resque-*.dist-info/licenses/LICENSE"))


def _extras() -> set[str]:
    import tomllib

    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])


def test_every_documented_install_names_a_checkout_or_a_built_file_and_real_extras():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    text = "\n".join(page.read_text() for page in pages)
    commands = [line.strip() for line in text.splitlines() if line.strip().startswith("pip install")]
    assert commands
    assert not re.search(r"pip install '?resque\[", text), "resque is not on a package index"
    for command in commands:
        target = shlex.split(command, comments=True)[-1]
        base, _, extras = target.partition("[")
        if base in ("build", "Cython"):  # tools from the package index, not resque itself
            continue
        assert base in (".", "$(ls dist/resque-*.whl)", "dist/resque-0.1.0.tar.gz"), command
        assert set(filter(None, extras.rstrip("]").split(","))) <= _extras(), command
