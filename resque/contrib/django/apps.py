"""The Django app of resque: add ``resque.contrib.django`` to INSTALLED_APPS for its command."""
from __future__ import annotations

from django.apps import AppConfig


class ResqueConfig(AppConfig):
    """Gives the project the ``resque_work`` management command."""

    name = "resque.contrib.django"
    label = "resque"
    verbose_name = "Resque"
