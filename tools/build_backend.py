"""setuptools, asking for Cython only when building from a checkout.

An sdist carries ``ext/_speedups.c`` (written by Cython when the sdist is
made), so building a wheel from an sdist never needs Cython: with a C
compiler the extension is compiled, without one the package installs as
pure Python. A checkout has no C file, so its builds ask for Cython; with
``--no-build-isolation`` and no Cython installed they install pure Python.
"""
from __future__ import annotations

import os
import warnings
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F401,F403  (the other PEP 517 hooks)

CYTHON = "Cython>=3.0; platform_python_implementation == 'CPython'"


def _cython() -> list[str]:
    """Return ``[CYTHON]`` in a checkout (no PKG-INFO) unless extensions are off."""
    off = os.environ.get("RESQUE_NO_EXTENSIONS", "").strip().lower() in {"1", "true", "yes", "on"}
    return [] if off or os.path.exists("PKG-INFO") else [CYTHON]


def get_requires_for_build_sdist(config_settings: dict[str, Any] | None = None) -> list[str]:
    """Ask for Cython: the sdist ships the C file it generates."""
    return [*_setuptools.get_requires_for_build_sdist(config_settings), CYTHON]


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    """Ask for Cython in a checkout only; an sdist compiles its shipped C."""
    return [*_setuptools.get_requires_for_build_wheel(config_settings), *_cython()]


def get_requires_for_build_editable(config_settings: dict[str, Any] | None = None) -> list[str]:
    """Ask for Cython in a checkout only (editable installs are checkouts)."""
    return [*_setuptools.get_requires_for_build_editable(config_settings), *_cython()]


def build_editable(wheel_directory: str, config_settings: dict[str, Any] | None = None,
                   metadata_directory: str | None = None) -> str:
    """Build the editable wheel without setuptools' flat-layout notice."""
    from setuptools.warnings import InformationOnly

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InformationOnly)
        return str(_setuptools.build_editable(wheel_directory, config_settings, metadata_directory))
