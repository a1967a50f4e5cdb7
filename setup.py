"""Decide the optional compiled extension; metadata lives in pyproject.toml."""
import os
import platform

from setuptools import Extension, setup


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


ext_modules = []
if platform.python_implementation() == "CPython" and not _flag("RESQUE_NO_EXTENSIONS"):
    try:
        import Cython  # noqa: F401
    except ImportError:
        pass
    else:
        ext_modules.append(
            Extension("resque._speedups", ["ext/_speedups.pyx"], optional=True)
        )

setup(ext_modules=ext_modules)
