"""Job resolution is a security boundary: only registered or allowed jobs run."""
from __future__ import annotations

import pytest

from resque import JobNotAllowed, Registry
from resque.client import job


@pytest.mark.parametrize("name", [
    "os.system", "subprocess.call", "subprocess.Popen", "builtins.eval", "posix.system",
    "Kernel::system", "", None, 5, "__import__",
])
def test_unregistered_names_are_refused_without_importing(name):
    with pytest.raises(JobNotAllowed):
        Registry().resolve(name)


def test_allowed_prefix_still_refuses_non_job_objects():
    reg = Registry(["os.", "tests."])
    with pytest.raises(JobNotAllowed, match="not a job class"):
        reg.resolve("os.system")


def test_allowed_prefix_imports_job_classes(tmp_path, monkeypatch):
    (tmp_path / "myjobs_mod.py").write_text(
        "class Archive:\n    queue = 'files'\n    @staticmethod\n    def perform(x):\n        return x * 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry(["myjobs_mod."])
    spec = reg.resolve("myjobs_mod.Archive")
    assert spec.queue == "files" and spec.perform(21) == 42
    with pytest.raises(JobNotAllowed, match="cannot be imported"):
        reg.resolve("myjobs_mod.Missing")


def test_ruby_names_and_dashed_names_resolve_through_registry():
    reg = Registry()

    @job(queue="q", name="SomeJob", registry=reg)
    class SomeJob:
        @staticmethod
        def perform():
            return "ran"

    assert reg.resolve("some-job").perform() == "ran"
    assert reg.resolve("SomeJob").name == "SomeJob"


def test_instance_method_perform_gets_a_fresh_instance():
    reg = Registry()

    @job(queue="q", name="Inst", registry=reg)
    class Inst:
        def perform(self, x):
            return (type(self).__name__, x)

    assert reg.resolve("Inst").perform(1) == ("Inst", 1)


def test_hooks_are_found_by_prefix_and_sorted_as_strings():
    class H:
        @staticmethod
        def perform():
            pass

        def before_perform_b(): pass  # noqa: E704
        def before_perform(): pass  # noqa: E704
        def before_perform_a(): pass  # noqa: E704

    spec = Registry().register(H, "H")
    assert [h.__name__ for h in spec.hooks("before_perform")] == [
        "before_perform", "before_perform_a", "before_perform_b"]
