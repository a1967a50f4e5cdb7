"""The pytest plugin users get (``resque.testing``), run on sample test files with pytester."""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

JOBS = '''
import resque

done = []


@resque.job(queue="mail", name="Mail::Welcome")
def welcome(email):
    if email == "bad":
        raise ValueError("bad address")
    done.append(email)
    if email == "chain":
        welcome.enqueue("from a job")
'''


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A scratch project with a jobs module; no Redis configured (or a wrong one)."""
    monkeypatch.setenv("RESQUE_REDIS_URL", "redis://127.0.0.1:1/0")  # never used by the plugin
    pytester.makepyfile(jobs=JOBS)
    return pytester


def test_drain_runs_queued_jobs_in_process_and_each_test_starts_empty(project):
    project.makepyfile(test_signup='''
        import resque
        import jobs


        def test_signup_queues_a_welcome(resque_client, resque_drain):
            jobs.welcome.enqueue("ada@example.com")
            jobs.welcome.enqueue("chain")
            assert resque.size("mail") == 2 and jobs.done == []
            assert resque_drain() == 3
            assert jobs.done == ["ada@example.com", "chain", "from a job"]
            assert resque.size("mail") == 0


        def test_the_next_test_sees_an_empty_redis(resque_client):
            assert resque_client.queues() == [] and resque_client.redis.dbsize() == 0
            assert resque_client.redis_id.startswith("unix://")
    ''')
    result = project.runpytest_subprocess("-q")
    result.assert_outcomes(passed=2)


def test_drain_raises_the_first_failure_and_leaves_later_jobs_queued(project):
    project.makepyfile(test_failure='''
        import pytest
        import resque
        import jobs


        def test_a_failing_job_fails_the_test(resque_client, resque_drain):
            for email in ("ok@example.com", "bad", "later@example.com"):
                jobs.welcome.enqueue(email)
            with pytest.raises(ValueError, match="bad address"):
                resque_drain("mail")
            assert jobs.done == ["ok@example.com"] and resque.size("mail") == 1


        def test_an_unraised_failure_fails(resque_client, resque_drain):
            jobs.welcome.enqueue("bad")
            resque_drain()
    ''')
    result = project.runpytest_subprocess("-q")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*ValueError: bad address*"])


def test_inline_mode_runs_each_job_as_it_is_enqueued(project):
    project.makepyfile(test_inline='''
        import pytest
        import resque
        import jobs


        def test_inline(resque_inline):
            jobs.welcome.enqueue("ada@example.com")
            assert jobs.done == ["ada@example.com"] and resque.size("mail") == 0
            with pytest.raises(ValueError, match="bad address"):
                resque.enqueue(jobs.welcome, "bad")
    ''')
    project.runpytest_subprocess("-q").assert_outcomes(passed=1)


def test_the_plugin_changes_nothing_until_a_fixture_is_asked_for(project):
    project.makepyfile(test_plain='''
        import resque.client


        def test_plain():
            assert resque.client._default is None
    ''')
    result = project.runpytest_subprocess("-q", "--fixtures")
    result.stdout.fnmatch_lines(["resque_redis*", "resque_client*", "resque_inline*",
                                 "resque_drain*"])
    plain = project.runpytest_subprocess("-q", "-p", "no:resque", "test_plain.py")
    plain.assert_outcomes(passed=1)
    assert "resque" not in plain.stdout.str().replace("test_plain", "")
    gone = project.runpytest_subprocess("-q", "-p", "no:resque", "--fixtures")
    assert "resque_client" not in gone.stdout.str()
