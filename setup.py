"""Decide the optional compiled extension; metadata lives in pyproject.toml.

``resque._speedups`` is built from ``ext/_speedups.pyx`` when Cython is
importable, else from the ``ext/_speedups.c`` an sdist ships; it is
optional: without a compiler the install goes on, pure Python.
``RESQUE_NO_EXTENSIONS=1`` builds no extension at all.
"""
import os
import platform

from setuptools import Extension, setup
from setuptools.command.sdist import sdist

PYX, C = "ext/_speedups.pyx", "ext/_speedups.c"


def _flag(name):
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _have_cython():
    try:
        import Cython  # noqa: F401
    except ImportError:
        return False
    return True


def _source():
    """Return the extension's source: the .pyx with Cython, an sdist's .c without."""
    if _have_cython():
        return PYX
    if os.path.exists("PKG-INFO") and os.path.exists(C):  # an unpacked sdist: its C is current
        return C
    return None


class SdistWithC(sdist):
    """Write the C file from the .pyx first, so the sdist compiles without Cython."""

    def run(self):
        from Cython.Build import cythonize

        cythonize([PYX], force=True, quiet=True)
        super().run()


ext_modules = []
source = _source()
if platform.python_implementation() == "CPython" and not _flag("RESQUE_NO_EXTENSIONS") and source:
    ext_modules.append(Extension("resque._speedups", [source], optional=True))

setup(ext_modules=ext_modules, cmdclass={"sdist": SdistWithC})
