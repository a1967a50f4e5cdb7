"""fugit's cron and duration grammar; schedule entries and files (checklist 17, 19-21)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from resque.scheduler.cron import Cron, Every, parse_duration
from resque.scheduler.errors import ScheduleError
from resque.scheduler.schedule import Entry, load_file, parse_schedule
from resque.scheduler.timers import Timer

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc


def nexts(cron: Cron, start: datetime, n: int = 3) -> list[str]:
    t, out = start.timestamp(), []
    for _ in range(n):
        t = cron.next_after(t)
        out.append(datetime.fromtimestamp(t, cron.zone).strftime("%Y-%m-%d %H:%M:%S %z"))
    return out


def test_five_fields_in_the_given_zone() -> None:
    c = Cron("30 2 * * *", UTC)
    assert nexts(c, datetime(2026, 1, 1, 3, 0, tzinfo=UTC), 2) == [
        "2026-01-02 02:30:00 +0000", "2026-01-03 02:30:00 +0000"]


def test_six_fields_put_seconds_first() -> None:
    c = Cron("30 * * * * *", UTC)
    assert nexts(c, datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC), 2) == [
        "2026-01-01 00:00:30 +0000", "2026-01-01 00:01:30 +0000"]
    every_second = Cron("* * * * * *", UTC)
    assert every_second.next_after(100.0) == 101.0


def test_trailing_time_zone_name_wins_over_the_local_zone() -> None:
    c = Cron("30 6 * * 1 Europe/Stockholm", UTC)
    assert nexts(c, datetime(2026, 6, 1, 0, 0, tzinfo=UTC), 1) == ["2026-06-01 06:30:00 +0200"]
    assert Cron("0 0 * * * * UTC", BERLIN).zone is UTC


def test_no_zone_means_tz_of_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    assert str(Cron("0 9 * * *").zone) == "America/New_York"


@pytest.mark.parametrize("special,expected", [
    ("@hourly", "2026-01-01 01:00:00 +0000"), ("@daily", "2026-01-02 00:00:00 +0000"),
    ("@midnight", "2026-01-02 00:00:00 +0000"), ("@noon", "2026-01-01 12:00:00 +0000"),
    ("@weekly", "2026-01-04 00:00:00 +0000"), ("@monthly", "2026-02-01 00:00:00 +0000"),
    ("@yearly", "2027-01-01 00:00:00 +0000"), ("@annually", "2027-01-01 00:00:00 +0000"),
])
def test_specials(special: str, expected: str) -> None:
    assert nexts(Cron(special, UTC), datetime(2026, 1, 1, 0, 30, tzinfo=UTC), 1) == [expected]


def test_both_day_fields_restricted_match_either() -> None:
    # the 13th OR any Friday
    got = nexts(Cron("0 0 13 * 5", UTC), datetime(2026, 12, 1, tzinfo=UTC), 4)
    assert got == ["2026-12-04 00:00:00 +0000", "2026-12-11 00:00:00 +0000",
                   "2026-12-13 00:00:00 +0000", "2026-12-18 00:00:00 +0000"]


def test_last_day_nth_and_last_weekday() -> None:
    start = datetime(2026, 2, 1, tzinfo=UTC)
    assert nexts(Cron("0 0 L * *", UTC), start, 2) == ["2026-02-28 00:00:00 +0000", "2026-03-31 00:00:00 +0000"]
    assert nexts(Cron("0 0 * * 1#2", UTC), start, 1) == ["2026-02-09 00:00:00 +0000"]
    assert nexts(Cron("0 0 * * 5#-1", UTC), start, 1) == ["2026-02-27 00:00:00 +0000"]


def test_fall_back_does_not_fire_a_fixed_time_twice() -> None:
    start = datetime(2026, 10, 25, 0, 30, tzinfo=BERLIN)
    assert nexts(Cron("30 2 * * * Europe/Berlin"), start, 2) == [
        "2026-10-25 02:30:00 +0200", "2026-10-26 02:30:00 +0100"]


def test_invalid_cron_strings_raise_schedule_error() -> None:
    for bad in ("61 * * * *", "* * *", "whenever", "0 0 * * 1%2"):
        with pytest.raises(ScheduleError):
            Cron(bad, UTC)


@pytest.mark.parametrize("text,seconds", [
    ("30s", 30), ("1m", 60), ("1h30m", 5400), ("1d", 86400), ("1w", 604800), ("1M", 30 * 86400),
    ("1y", 365 * 86400), ("90", 90), (45, 45), ("2.5s", 2.5), ("P1D", 86400), ("PT1H30M", 5400),
])
def test_fugit_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_bad_or_too_short_durations_raise() -> None:
    for bad in ("0.1s", "soon", "", None, "1x"):
        with pytest.raises(ScheduleError):
            parse_duration(bad)


def test_every_counts_from_the_load_time_and_collapses_missed_runs() -> None:
    entry = Entry.parse("e", {"every": "10s", "class": "SomeJob"})
    timer = Timer.start(entry, 1000.0)
    assert timer is not None and timer.next_at == 1010.0
    assert not timer.due(1009.9) and timer.due(1010.0)
    assert timer.take(1035.0) == 1030.0  # three missed: one firing, for the latest
    assert timer.next_at == 1040.0


def test_first_in_first_at_and_past_first_at() -> None:
    e = Entry.parse("e", {"every": ["1h", {"first_in": "10s"}], "class": "C"})
    timer = Timer.start(e, 1000.0)
    assert timer is not None and timer.next_at == 1010.0 and timer.anchor == 1010.0 - 3600
    assert e.interval_text() == "every: 1h (first in 10s)"
    late = Entry.parse("late", {"every": ["1h", {"first_at": "2001-01-01T00:00:00Z"}], "class": "C"})
    with pytest.raises(ScheduleError, match="past"):
        Timer.start(late, 1e9 + 1)


def test_cron_wins_over_every_and_array_forms() -> None:
    e = Entry.parse("x", {"cron": "0 * * * *", "every": "1m"})
    assert (e.kind, e.value) == ("cron", "0 * * * *")
    e = Entry.parse("x", {"every": ["5m", "ignored", "too"]})
    assert (e.kind, e.value, e.options) == ("every", "5m", {})
    manual = Entry.parse("x", {"never": "0 * * * *", "class": "C"})
    assert manual.kind == "" and manual.trigger() is None
    assert manual.interval_text() == "Not currently scheduled"


def test_args_hash_is_one_argument_array_splatted_scalar_one_null_none() -> None:
    assert Entry.parse("a", {"args": {"x": 1}}).args == [{"x": 1}]
    assert Entry.parse("a", {"args": [1, "a"]}).args == [1, "a"]
    assert Entry.parse("a", {"args": "one"}).args == ["one"]
    assert Entry.parse("a", {"args": None}).args == []
    assert Entry.parse("SomeJob", {}).class_name == "SomeJob"


def test_env_filter_splits_on_commas_and_spaces() -> None:
    e = Entry.parse("a", {"cron": "* * * * *", "rails_env": "production, staging  qa", "env": "x"})
    assert e.enabled("staging") and e.enabled("qa") and not e.enabled("x") and not e.enabled(None)
    assert Entry.parse("a", {"cron": "* * * * *"}).enabled(None)


def test_yaml_and_toml_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    y = tmp_path / "schedule.yml"
    y.write_text("""
queue_documents_for_indexing:
  cron: "0 0 * * *"
  class: "QueueDocuments"
  queue: high
  args:
  description: "This job queues all content for indexing in solr"
clear_leaderboards_contributors:
  every: ["30s", {first_in: "120s"}]
  class: "ClearLeaderboards"
  queue: low
  args: contributors
""")
    table = load_file(y)
    assert table["queue_documents_for_indexing"].args == []
    assert table["clear_leaderboards_contributors"].options == {"first_in": "120s"}
    assert table["clear_leaderboards_contributors"].args == ["contributors"]
    t = tmp_path / "schedule.toml"
    t.write_text('[nightly]\ncron = "30 2 * * * Europe/Berlin"\nclass = "SomeJob"\nargs = {x = 1}\n')
    assert load_file(t)["nightly"].args == [{"x": 1}]


def test_bad_schedule_files_give_one_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yml"
    bad.write_text("a: [unclosed")
    with pytest.raises(ScheduleError, match="cannot be parsed"):
        load_file(bad)
    with pytest.raises(ScheduleError, match="invalid cron"):
        parse_schedule({"x": {"cron": "nope nope", "class": "C"}})
    with pytest.raises(ScheduleError, match="cannot read"):
        load_file(tmp_path / "missing.yml")


def test_every_next_after_from_anchor() -> None:
    assert Every("1m").next_after(0.0, 59.0) == 60.0 and Every("1m").next_after(0.0, 60.0) == 120.0


def test_a_long_stall_collapses_to_the_latest_occurrence() -> None:
    c = Cron("* * * * * *", UTC)
    assert c.latest_until(1000.0, 1000.5) == (1000.0, 1001.0)
    assert c.latest_until(1000.0, 1000.0 + 86400 * 30 + 0.5) == (1000.0 + 86400 * 30, 1001.0 + 86400 * 30)
    daily = Cron("30 2 * * *", UTC)
    first = datetime(2026, 1, 1, 2, 30, tzinfo=UTC).timestamp()
    slot, nxt = daily.latest_until(first, datetime(2026, 1, 5, 12, 0, tzinfo=UTC).timestamp())
    assert datetime.fromtimestamp(slot, UTC) == datetime(2026, 1, 5, 2, 30, tzinfo=UTC)
    assert datetime.fromtimestamp(nxt, UTC) == datetime(2026, 1, 6, 2, 30, tzinfo=UTC)
