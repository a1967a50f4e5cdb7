"""Settings of the test project: SQLite at $SHOP_DB, resque as the task backend."""
from __future__ import annotations

import importlib.util
import os

SECRET_KEY = "only-for-tests"
USE_TZ = True
INSTALLED_APPS = ["tests.djangoproject.shop", "resque.contrib.django"]
if importlib.util.find_spec("django.tasks") is None:
    INSTALLED_APPS.append("django_tasks")  # the backport, before Django 6
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["SHOP_DB"]}}
TASKS = {
    "default": {
        "BACKEND": "resque.contrib.django.ResqueBackend",
        "QUEUES": ["mail", "default"],
    },
    "oncommit": {
        "BACKEND": "resque.contrib.django.ResqueBackend",
        "QUEUES": [],
        "OPTIONS": {"ENQUEUE_ON_COMMIT": True},
    },
}
