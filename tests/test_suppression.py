"""Silences, mute windows, inhibition and flap control suppress exactly what they should."""

from datetime import timedelta

from typer.testing import CliRunner

from checks.runner import run_checks
from flows.cli import app
from flows.findings_cli import findings_with_marks
from flows.records import FetchError, Post
from tests.conftest import NOW, account_entry
from tests.test_escalation import at, configure, kinds, run, sink, stale  # noqa: F401  (sink is a fixture)

GONE = ("gone", [FetchError("a", "https://social.example.gov/api/v1/accounts/lookup", 404, "not found", gone=True)])


def silence(warehouse, *args):
    result = CliRunner().invoke(app, ["silence", *args, "--db", str(warehouse.tmp_path / "test.duckdb")])
    return result


def add_silence(warehouse, account, until, check=None, now=NOW):
    args = ["add", "--account", account, "--until", until, "--by", "Aisha (oversight)",
            "--reason", "Rebranding: no posts until the new name is approved", "--now", now.isoformat()]
    result = silence(warehouse, *args, *(["--check", check] if check else []))
    assert result.exit_code == 0, result.output
    return result.output.split(":")[0]


def test_a_silence_holds_back_only_what_it_names_and_the_finding_stays_recorded(warehouse, sink):
    configure(warehouse, [account_entry("a"), account_entry("b")], apprise_url=sink.url)
    warehouse.run({}, at(-1))  # the registry is loaded; nothing judged yet
    silence_id = add_silence(warehouse, "a", "2026-11-26T12:00:00Z", check="staleness")
    run(warehouse, {"a": stale(), "b": stale("b")}, at(0))
    assert {m["path"] for m in sink.received} == {"/inbox/custodian-b"}
    [found] = [f for f in findings_with_marks(warehouse.con, at(0)) if f["account"] == "a"]
    assert found["silenced"]["silence"] == silence_id  # still recorded and shown, marked silenced


def test_an_expired_silence_resumes_the_schedule_without_a_burst(warehouse, sink):
    policy = {"escalation": {"repeat_hours": 6, "max_reminders": 5, "severities": []}}
    configure(warehouse, [account_entry("a")], policy, apprise_url=sink.url)
    run(warehouse, {"a": stale()}, at(0))
    add_silence(warehouse, "a", "2026-11-26T12:00:00Z", now=at(1))
    for hours in (7, 13, 19, 25, 31):
        run(warehouse, {"a": stale()}, at(hours))
    assert kinds(sink.to("custodian-a")) == ["Custodian: 1 new"]
    run(warehouse, {"a": stale()}, at(48.5))  # the silence ended at 48 h
    run(warehouse, {"a": stale()}, at(50))
    assert kinds(sink.to("custodian-a")) == ["Custodian: 1 new", "Custodian: 1 still open"]
    assert sink.to("custodian-a")[1]["message"].count("[STILL OPEN]") == 1


def test_silence_expire_and_list(warehouse, sink):
    configure(warehouse, [account_entry("a")], apprise_url=sink.url)
    run(warehouse, {"a": ("ok", [Post("a", "p", NOW)])}, at(0))
    silence_id = add_silence(warehouse, "a", "2026-12-30T12:00")
    assert silence_id in silence(warehouse, "list", "--now", NOW.isoformat()).output
    assert silence(warehouse, "expire", silence_id).exit_code == 0
    assert silence_id not in silence(warehouse, "list").output
    assert silence(warehouse, "expire", silence_id).exit_code == 1
    assert silence(warehouse, "add", "--account", "nobody", "--until", "2026-12-30T12:00", "--by", "x",
                   "--reason", "y").exit_code == 2
    assert silence(warehouse, "add", "--account", "a", "--until", "2026-12-30T12:00", "--by", "x").exit_code == 2


def test_messages_due_in_a_mute_window_are_held_and_sent_when_it_ends(warehouse, sink):
    # NOW is 16:00 in Muscat; the window is 15:00-20:00 there.
    configure(warehouse, [account_entry("a")], {"mute": [{"name": "evening", "hours": "15:00-20:00"}]},
                        apprise_url=sink.url)
    summary = run(warehouse, {"a": stale()}, at(0))
    assert sink.received == [] and summary.items_held == 1
    assert warehouse.rows("SELECT status FROM deliveries") == [("held",)]
    run(warehouse, {"a": stale()}, at(3.9))  # 19:54, still inside
    assert sink.received == []
    run(warehouse, {"a": stale()}, at(4.1))  # 20:06
    assert kinds(sink.received) == ["Custodian: 1 new"]


def test_a_mute_window_on_dates_covers_holidays_only(warehouse, sink):
    configure(warehouse, [account_entry("a")], {"mute": [{"name": "holiday", "dates": ["2026-11-25"]}]},
                        apprise_url=sink.url)
    run(warehouse, {"a": stale()}, at(0))  # 24 Nov: not a holiday
    assert kinds(sink.received) == ["Custodian: 1 new"]


def test_an_unreachable_account_inhibits_its_own_symptoms_and_nothing_else(warehouse, sink):
    policy = {"escalation": {"repeat_hours": 6, "max_reminders": 5, "severities": []}}
    configure(warehouse, [account_entry("a"), account_entry("b")], policy, apprise_url=sink.url)
    run(warehouse, {"a": stale(), "b": stale("b")}, at(0))
    run(warehouse, {"a": GONE, "b": stale("b")}, at(1))
    run(warehouse, {"a": GONE, "b": stale("b")}, at(7))
    a_messages = sink.to("custodian-a")
    assert kinds(a_messages) == ["Custodian: 1 new", "Custodian: 1 new", "Custodian: 1 still open"]
    for message in a_messages[1:]:  # the unreachable finding and its own reminder; never the stale one
        assert "Account unreachable" in message["message"] and "Account is stale" not in message["message"]
    assert kinds(sink.to("custodian-b"))[-1] == "Custodian: 1 still open"  # b is not inhibited
    [stale_a] = [f for f in findings_with_marks(warehouse.con, at(7))
                 if f["account"] == "a" and f["check"] == "staleness"]
    assert stale_a["inhibited_by"].startswith("unreachable:a:")


def test_min_runs_holds_a_finding_before_it_opens(warehouse, sink):
    configure(warehouse, [account_entry("a")], {"flapping": {"min_runs": 2}}, apprise_url=sink.url)
    run(warehouse, {"a": stale()}, at(0))
    assert warehouse.rows("SELECT state FROM findings") == [("pending",)] and sink.received == []
    run(warehouse, {"a": ("ok", [Post("a", "p", at(0.5))])}, at(1))  # cleared before opening: dropped, untold
    assert warehouse.rows("SELECT state FROM findings") == [] and sink.received == []
    run(warehouse, {"a": stale()}, at(2))
    run(warehouse, {"a": stale()}, at(3))
    assert warehouse.rows("SELECT state, first_seen FROM findings") == [("open", at(2))]
    assert kinds(sink.received) == ["Custodian: 1 new"]


def test_a_rerun_judging_the_same_moment_does_not_count_as_another_run(warehouse, sink):
    """A run killed after its checks and rerun at the same --now saw nothing new: with min_runs 2
    the finding stays held, as after one run, and opens only at the next moment judged."""
    configure(warehouse, [account_entry("a")], {"flapping": {"min_runs": 2}}, apprise_url=sink.url)
    run(warehouse, {"a": stale()}, at(0))
    run(warehouse, {"a": stale()}, at(0))
    assert warehouse.rows("SELECT state, seen_runs FROM findings") == [("pending", 1)] and sink.received == []
    run(warehouse, {"a": stale()}, at(1))
    assert warehouse.rows("SELECT state, seen_runs FROM findings") == [("open", 2)]
    assert kinds(sink.received) == ["Custodian: 1 new"]


def test_min_hours_opens_a_held_finding_on_time(warehouse, sink):
    configure(warehouse, [account_entry("a")], {"flapping": {"min_runs": 10, "min_hours": 2}}, apprise_url=sink.url)
    run(warehouse, {"a": stale()}, at(0))
    run(warehouse, {"a": stale()}, at(1))
    assert sink.received == []
    run(warehouse, {"a": stale()}, at(2))
    assert kinds(sink.received) == ["Custodian: 1 new"]


def test_clear_runs_keeps_a_finding_open_until_it_stays_clear(warehouse, sink):
    configure(warehouse, [account_entry("a")], {"flapping": {"clear_runs": 2}}, apprise_url=sink.url)
    run(warehouse, {"a": stale()}, at(0))
    fresh = ("ok", [Post("a", "new", at(0.5))])
    run(warehouse, {"a": fresh}, at(1))
    assert warehouse.rows("SELECT state, clear_runs FROM findings") == [("open", 1)]
    run(warehouse, {"a": fresh}, at(2))
    assert warehouse.rows("SELECT state FROM findings") == [("resolved",)]
    assert kinds(sink.received) == ["Custodian: 1 new", "Custodian: 1 resolved"]


def test_a_flapping_finding_is_reported_once(warehouse, sink):
    configure(warehouse, [account_entry("a")], {"flapping": {"max_flips_per_day": 3}}, apprise_url=sink.url)
    hour = 0
    for _ in range(4):
        warehouse.con.execute("DELETE FROM posts")  # the account goes quiet again
        run(warehouse, {"a": stale()}, at(hour))
        run(warehouse, {"a": ("ok", [Post("a", f"p{hour}", at(hour + 0.5))])}, at(hour + 1))
        hour += 2
    warehouse.con.execute("DELETE FROM posts")
    run(warehouse, {"a": stale()}, at(hour))
    titles = kinds(sink.received)
    assert titles[:4] == ["Custodian: 1 new", "Custodian: 1 resolved", "Custodian: 1 new", "Custodian: 1 resolved"]
    assert titles.count("Custodian: 1 flapping") == 1 and titles[-1] == "Custodian: 1 flapping"
    assert warehouse.rows("SELECT count(*) FROM findings WHERE flapping") >= [(1,)]
