"""Django's task framework on resque, and ``resque work`` inside a Django project.

A real project (``tests/djangoproject``, SQLite) enqueues in this process;
real ``resque work`` and ``manage.py resque_work`` subprocesses run the jobs.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

django = pytest.importorskip("django")

import resque  # noqa: E402
from resque import Resque  # noqa: E402
from resque._compat import dumps, loads  # noqa: E402
from tests.helpers import wait_for  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "tests.djangoproject.settings"


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Set the test project up once in this process, on a SQLite file."""
    path = str(tmp_path_factory.mktemp("shop") / "shop.sqlite3")
    os.environ["SHOP_DB"] = path
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    django.setup()
    return path


@pytest.fixture
def shop(shop_db: str, redis_url: str, r: Any) -> Iterator[Any]:
    """The project's event table, emptied; the test Redis as resque's default client."""
    from django.db import connection

    from tests.djangoproject.shop import db

    db.create_table()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM events")
    resque.set_client(Resque(redis_url))
    yield db
    resque.set_client(None)


def _env(shop_db: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RESQUE_REDIS_URL", "REDIS_URL")}
    return {**env, "DJANGO_SETTINGS_MODULE": SETTINGS, "SHOP_DB": shop_db,
            "PYTHONPATH": str(ROOT), **extra}


def work(redis_url: str, shop_db: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``resque work`` in the project until the queues are empty."""
    proc = subprocess.run(
        [sys.executable, "-m", "resque", "--redis", redis_url, "work", "--interval", "0",
         "-A", "resque.contrib.django", *args],
        env=_env(shop_db), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_task_decorated_functions_enqueue_resque_payloads(shop, r):
    from tests.djangoproject.shop.tasks import send_receipt, with_context

    receipt = send_receipt.enqueue(7, copy_to="books@example.com")
    context = with_context.using(queue_name="mail").enqueue(3)
    assert receipt.status == "READY" and receipt.enqueued_at is not None and receipt.backend == "default"
    assert r.smembers("resque:queues") == {b"mail"}
    assert r.lrange("resque:queue:mail", 0, -1) == [
        b'{"class":"tests.djangoproject.shop.tasks.send_receipt","args":[{"id":"%s","args":[7],'
        b'"kwargs":{"copy_to":"books@example.com"}}]}' % receipt.id.encode(),
        b'{"class":"tests.djangoproject.shop.tasks.with_context","args":[{"id":"%s","args":[3],'
        b'"kwargs":{}}]}' % context.id.encode()]


def test_a_worker_runs_tasks_with_kwargs_context_and_coroutines_and_records_failures(
        shop, r, redis_url, shop_db):
    from tests.djangoproject.shop.tasks import async_ping, explode, send_receipt, with_context

    send_receipt.enqueue(7, copy_to="books@example.com")
    context = with_context.enqueue(3)
    async_ping.enqueue(5)
    explode.enqueue(1)
    r.rpush("resque:queue:default", b'{"class":"os.system","args":["touch /tmp/owned"]}')
    r.rpush("resque:queue:default", b'{"class":"tests.djangoproject.shop.tasks.send_receipt","args":[5]}')
    work(redis_url, shop_db, "-q", "mail,default")
    assert [(kind, value) for kind, value, _, _ in shop.events()] == [
        ("receipt", "7:books@example.com"), ("context", f"{context.id}:1:3"), ("async", "5")]
    failures = [loads(raw) for raw in r.lrange("resque:failed", 0, -1)]
    # Which tasks the message lists as registered depends on what the worker resolved before.
    not_registered = failures[1]["error"]
    assert not_registered.startswith("job class 'os.system' is not registered in this worker (")
    assert not_registered.endswith("importable under: resque., tests.djangoproject.shop., "
                                   "resque.contrib.django., django_tasks.)")
    failures[1]["error"] = "not registered"
    assert [(f["exception"], f["error"], f["payload"]["class"]) for f in failures] == [
        ("ValueError", "exploded 1", "tests.djangoproject.shop.tasks.explode"),
        ("resque.errors.JobNotAllowed", "not registered", "os.system"),
        ("resque.errors.PayloadError", "task tests.djangoproject.shop.tasks.send_receipt: the job "
         "argument is not a task envelope (got int)", "tests.djangoproject.shop.tasks.send_receipt")]
    assert r.llen("resque:queue:mail") == r.llen("resque:queue:default") == 0


def test_the_backend_declares_what_resque_cannot_do(shop):
    from django.utils import timezone

    from resque.contrib.django.compat import BaseTaskBackend
    from tests.djangoproject.shop.tasks import send_receipt

    try:
        from django.tasks.exceptions import InvalidTask as Invalid
    except ImportError:
        from django_tasks.exceptions import InvalidTaskError as Invalid

    backend = send_receipt.get_backend()
    assert isinstance(backend, BaseTaskBackend)
    assert (backend.supports_defer, backend.supports_get_result, backend.supports_priority,
            backend.supports_async_task) == (True, False, False, True)
    with pytest.raises(Invalid, match="priority"):
        send_receipt.using(priority=10)
    with pytest.raises(Invalid, match="aware"):  # USE_TZ is on: Django wants an aware run_after
        send_receipt.using(run_after=timezone.now().replace(tzinfo=None) + timedelta(hours=1))
    with pytest.raises(Invalid, match="Queue 'nowhere' is not valid"):
        send_receipt.using(queue_name="nowhere")
    with pytest.raises(NotImplementedError):
        send_receipt.get_result("some-id")


def test_enqueue_on_commit_pushes_after_the_commit_and_never_on_rollback(shop, r):
    from django.db import transaction

    from tests.djangoproject.shop.tasks import send_receipt

    later = send_receipt.using(backend="oncommit")
    with transaction.atomic():
        result = later.enqueue(1)
        assert r.llen("resque:queue:mail") == 0 and result.enqueued_at is None
    assert r.llen("resque:queue:mail") == 1 and result.enqueued_at is not None
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            later.enqueue(2)
            raise RuntimeError("roll back")
    assert r.llen("resque:queue:mail") == 1
    later.enqueue(3)  # outside a transaction: at once
    assert r.llen("resque:queue:mail") == 2


def test_forked_jobs_never_share_the_parents_database_connection(shop, r, redis_url, shop_db):
    from tests.djangoproject.shop.tasks import probe

    for n in range(3):
        probe.enqueue(n)
    work(redis_url, shop_db, "-A", "tests.djangoproject.shop.hooks", "-q", "probe")
    parent = shop.events("parent")
    children = shop.events("probe")
    assert [v for _, v, _, _ in parent] == [v for _, v, _, _ in children] == ["0", "1", "2"]
    worker_pid = parent[0][2]
    assert {pid for _, _, pid, _ in parent} == {worker_pid}
    assert all(pid != worker_pid for _, _, pid, _ in children)
    # Each fork found the parent's connection closed (it was opened by the
    # previous fork's hook), and each child found no inherited connection.
    assert [fresh for *_, fresh in parent] == [1, 1, 1]
    assert [fresh for *_, fresh in children] == [1, 1, 1]
    assert r.llen("resque:failed") == 0


def test_manage_py_resque_work_runs_the_projects_tasks_on_its_queues(shop, r, redis_url, shop_db):
    from tests.djangoproject.shop.tasks import send_receipt, with_context

    send_receipt.enqueue(8)
    with_context.enqueue(4)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "djangoproject" / "manage.py"), "resque_work",
         "--interval", "0"],
        env=_env(shop_db, RESQUE_REDIS_URL=redis_url), cwd=ROOT, capture_output=True, text=True,
        timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert [kind for kind, *_ in shop.events()] == ["receipt", "context"]


def test_resque_work_without_django_settings_says_how_to_set_them(redis_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    proc = subprocess.run(
        [sys.executable, "-m", "resque", "--redis", redis_url, "work", "-q", "default",
         "--interval", "0", "-A", "resque.contrib.django"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "no Django settings: set DJANGO_SETTINGS_MODULE" in proc.stderr


def _delayed(r: Any) -> dict[int, list[bytes]]:
    """Return the delayed queue: second -> items."""
    return {int(m): r.lrange(f"resque:delayed:{int(m)}", 0, -1)
            for m in r.zrange("resque:delayed_queue_schedule", 0, -1)}


def _receipt(result: Any, *args: Any, queue: str | None = "mail", **kwargs: Any) -> bytes:
    """Return a send_receipt payload (with ``queue``: a delayed item) as the backend writes it."""
    envelope = {"id": result.id, "args": list(args), "kwargs": kwargs}
    item = {"class": "tests.djangoproject.shop.tasks.send_receipt", "args": [envelope]}
    return dumps(item if queue is None else {**item, "queue": queue})


def test_run_after_waits_in_the_delayed_queue_until_the_scheduler_moves_it(shop, r, redis_url, shop_db):
    from django.utils import timezone

    from resque.scheduler import handle_delayed_items
    from tests.djangoproject.shop.tasks import send_receipt

    run_after = timezone.now() + timedelta(hours=1)
    result = send_receipt.using(run_after=run_after).enqueue(9, copy_to="later@example.com")
    due = int(run_after.timestamp())
    assert result.status == "READY" and result.enqueued_at is not None
    assert _delayed(r) == {due: [_receipt(result, 9, copy_to="later@example.com")]}
    assert r.llen("resque:queue:mail") == 0
    assert handle_delayed_items(Resque(redis_url), at=due - 1) == 0
    assert handle_delayed_items(Resque(redis_url), at=due) == 1
    assert r.lrange("resque:queue:mail", 0, -1) == [
        _receipt(result, 9, queue=None, copy_to="later@example.com")]
    work(redis_url, shop_db, "-q", "mail")
    assert [(kind, value) for kind, value, _, _ in shop.events()] == [("receipt", "9:later@example.com")]


def test_a_real_scheduler_and_worker_run_a_deferred_task_when_due(shop, r, redis_url, shop_db):
    from django.utils import timezone

    from tests.djangoproject.shop.tasks import send_receipt

    run_after = timezone.now() + timedelta(seconds=2)
    send_receipt.using(run_after=run_after).enqueue(10)
    assert r.llen("resque:queue:mail") == 0 and len(_delayed(r)) == 1
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "resque", "--redis", redis_url, "scheduler", "--interval", "0.2"],
        env=_env(shop_db), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: r.llen("resque:queue:mail"), timeout=30)
        assert time.time() >= int(run_after.timestamp())  # never moved before its second
    finally:
        scheduler.terminate()
        scheduler.wait(15)
    assert _delayed(r) == {}
    work(redis_url, shop_db, "-q", "mail")
    assert [(kind, value) for kind, value, _, _ in shop.events()] == [("receipt", "10:None")]


def test_a_past_run_after_enqueues_the_task_at_once(shop, r):
    from django.utils import timezone

    from tests.djangoproject.shop.tasks import send_receipt

    result = send_receipt.using(run_after=timezone.now() - timedelta(minutes=5)).enqueue(11)
    assert r.lrange("resque:queue:mail", 0, -1) == [_receipt(result, 11, queue=None)]
    assert _delayed(r) == {} and result.enqueued_at is not None


def test_naive_run_after_is_local_time_in_time_zone_when_use_tz_is_off(shop, r):
    from django.test import override_settings

    from tests.djangoproject.shop.tasks import send_receipt

    with override_settings(USE_TZ=False, TIME_ZONE="America/New_York"):
        naive = send_receipt.using(run_after=datetime(2099, 1, 1, 0, 0)).enqueue(12)
        aware = send_receipt.using(run_after=datetime(2099, 1, 1, tzinfo=dt_timezone.utc)).enqueue(13)
    y2099 = 4070908800  # 2099-01-01T00:00:00Z; New York is then 5 hours behind UTC
    assert _delayed(r) == {y2099: [_receipt(aware, 13)], y2099 + 5 * 3600: [_receipt(naive, 12)]}


def test_enqueue_on_commit_delays_a_deferred_task_only_when_the_transaction_commits(shop, r):
    from django.db import transaction
    from django.utils import timezone

    from tests.djangoproject.shop.tasks import send_receipt

    later = send_receipt.using(backend="oncommit", run_after=timezone.now() + timedelta(hours=1))
    with transaction.atomic():
        kept = later.enqueue(14)
        assert _delayed(r) == {} and kept.enqueued_at is None
    assert list(_delayed(r).values()) == [[_receipt(kept, 14)]]
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            later.enqueue(15)
            raise RuntimeError("roll back")
    assert list(_delayed(r).values()) == [[_receipt(kept, 14)]]
    assert r.llen("resque:queue:mail") == 0
