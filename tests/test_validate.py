"""The Great Expectations gate: which accounts of a batch pass, and why the others fail."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import pytest

from flows.records import Cursor, FetchError, Inbound, Post, Profile, Record, Reply
from flows.validate import ValidationReport, validate_batch

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACCOUNTS = ("gov-health", "gov-transport", "gov-interior")


def account_records(account_id: str, posts: int = 3) -> list[Record]:
    """A clean, complete set of records for one account, a citizen's question included."""
    asked = NOW - timedelta(hours=2)
    records: list[Record] = [Profile(account_id, platform_id=f"{account_id}-pid")]
    records += [Post(account_id, f"{account_id}-p{n}", NOW - timedelta(hours=n + 1)) for n in range(posts)]
    records.append(Inbound(account_id, "m1", asked, kind="reply", text="متى يفتح المكتب؟"))
    records.append(Reply(account_id, "r1", "m1", asked + timedelta(minutes=30)))
    records.append(Cursor(account_id, "statuses", "42"))
    return records


def clean_batch() -> list[Record]:
    return [record for account in ACCOUNTS for record in account_records(account)]


def check(records: Sequence[Record], **kwargs) -> ValidationReport:
    return validate_batch(records, registered_ids=ACCOUNTS, now=NOW, **kwargs)


def only_failure(report: ValidationReport, account_id: str) -> str:
    """The single reason the one failing account failed for."""
    assert list(report.failed) == [account_id]
    (reason,) = report.failed[account_id]
    return reason


@pytest.fixture(scope="module", autouse=True)
def gx_ready() -> None:
    """Pay GX's import and set-up once for the module (the module caches them)."""
    check(account_records(ACCOUNTS[0]))


def test_a_clean_batch_of_several_accounts_passes():
    report = check(clean_batch())
    assert report.failed == {}
    assert all(report.passed(account) for account in ACCOUNTS)
    assert report.rows_checked == len(ACCOUNTS) * 6  # cursors are not rows


def test_an_empty_batch_passes():
    report = check([])
    assert report.failed == {}
    assert report.rows_checked == 0


def test_cursors_and_fetch_errors_are_not_validated():
    records = [
        Cursor("unregistered", "s", ""),
        FetchError("unregistered", "https://x", 500, "boom"),
    ]
    assert check(records) == ValidationReport(failed={}, rows_checked=0)


def test_a_duplicate_post_id_fails_only_that_account_naming_the_id():
    records = clean_batch()
    records.append(Post("gov-transport", "gov-transport-p0", NOW - timedelta(hours=1)))
    report = check(records)
    reason = only_failure(report, "gov-transport")
    assert "expect_compound_columns_to_be_unique" in reason
    assert "post_id" in reason
    assert "'gov-transport-p0'" in reason
    assert report.passed("gov-health") and report.passed("gov-interior")


def test_the_same_post_id_in_two_accounts_is_fine():
    records = clean_batch() + [
        Post("gov-health", "shared-id", NOW),
        Post("gov-interior", "shared-id", NOW),
    ]
    assert check(records).failed == {}


def test_an_unregistered_account_fails():
    records = clean_batch() + account_records("impostor")
    report = check(records)
    assert set(report.failed) == {"impostor"}
    assert all("expect_column_values_to_be_in_set on account_id" in reason for reason in report.failed["impostor"])


@pytest.mark.parametrize("post_id", ["", None])
def test_a_missing_post_id_fails_naming_the_record_position(post_id):
    records = clean_batch() + [Post("gov-health", post_id, NOW)]
    reason = only_failure(check(records), "gov-health")
    assert "on post_id" in reason
    assert f"records[{len(records) - 1}]" in reason


def test_a_second_profile_for_an_account_fails():
    records = clean_batch() + [Profile("gov-interior", platform_id="other")]
    reason = only_failure(check(records), "gov-interior")
    assert "expect_column_values_to_be_unique on account_id" in reason


def test_a_timestamp_beyond_the_future_skew_fails():
    late = Post("gov-health", "from-the-future", NOW + timedelta(minutes=11))
    reason = only_failure(check([*clean_batch(), late]), "gov-health")
    assert "expect_column_values_to_be_between on created_at" in reason
    assert "'from-the-future'" in reason


def test_a_timestamp_within_the_future_skew_passes():
    early = Post("gov-health", "clock-skew", NOW + timedelta(minutes=9))
    assert check([*clean_batch(), early]).failed == {}


def test_the_future_skew_is_a_parameter():
    early = Post("gov-health", "clock-skew", NOW + timedelta(minutes=9))
    report = check([*clean_batch(), early], future_skew=timedelta(minutes=1))
    assert not report.passed("gov-health")


@pytest.mark.parametrize(
    "created_at",
    [
        NOW.replace(tzinfo=None),  # naive
        "2026-03-01T12:00:00Z",  # a string, not a datetime
        NOW.astimezone(timezone(timedelta(hours=3))),  # aware but not UTC
        None,
    ],
)
def test_a_timestamp_that_is_not_an_aware_utc_datetime_fails(created_at):
    bad = Inbound("gov-transport", "m-bad", created_at, kind="mention")
    reason = only_failure(check([*clean_batch(), bad]), "gov-transport")
    assert "expect_column_values_to_not_be_null on created_at" in reason
    assert "'m-bad'" in reason


def test_a_reply_earlier_than_its_message_in_the_batch_fails():
    records = clean_batch() + [
        Inbound("gov-interior", "m2", NOW - timedelta(minutes=5), kind="direct"),
        Reply("gov-interior", "r2", "m2", NOW - timedelta(minutes=6)),
    ]
    reason = only_failure(check(records), "gov-interior")
    assert "expect_column_pair_values_a_to_be_greater_than_b" in reason
    assert "'r2'" in reason


def test_a_reply_at_the_same_moment_as_its_message_passes():
    records = clean_batch() + [
        Inbound("gov-interior", "m2", NOW, kind="direct"),
        Reply("gov-interior", "r2", "m2", NOW),
    ]
    assert check(records).failed == {}


def test_a_reply_earlier_than_a_remembered_message_fails():
    records = clean_batch() + [Reply("gov-health", "r9", "old-m", NOW - timedelta(days=2))]
    remembered = {("gov-health", "old-m"): NOW - timedelta(days=1)}
    reason = only_failure(check(records, inbound_times=remembered), "gov-health")
    assert "'r9'" in reason


def test_a_message_in_the_batch_wins_over_the_warehouse_memory():
    records = clean_batch() + [
        Inbound("gov-health", "m7", NOW - timedelta(days=3), kind="comment"),
        Reply("gov-health", "r7", "m7", NOW - timedelta(days=2)),
    ]
    stale = {("gov-health", "m7"): NOW - timedelta(days=1)}
    assert check(records, inbound_times=stale).failed == {}


def test_a_reply_to_an_unknown_message_is_not_compared():
    records = clean_batch() + [Reply("gov-health", "r8", "never-seen", NOW)]
    other_account = {("gov-transport", "never-seen"): NOW + timedelta(days=1)}
    assert check(records, inbound_times=other_account).failed == {}


def test_an_unknown_inbound_kind_fails():
    odd = Inbound("gov-health", "m3", NOW, kind="quote")
    reason = only_failure(check([*clean_batch(), odd]), "gov-health")
    assert "on kind" in reason


def test_arabic_text_is_carried_without_affecting_validation():
    records = clean_batch() + [
        Post("gov-health", "ar-1", NOW, text="إعلان: تمديد ساعات العمل"),
        Profile("gov-arabic", platform_id="وزارة", display_name="وزارة الصحة"),
    ]
    report = validate_batch(records, [*ACCOUNTS, "gov-arabic"], NOW)
    assert report.failed == {}


def test_reasons_name_at_most_five_ids():
    records = clean_batch() + [Post("gov-health", f"late-{n}", NOW + timedelta(days=1)) for n in range(8)]
    reason = only_failure(check(records), "gov-health")
    assert "8 row(s)" in reason
    assert reason.count("'late-") == 5
    assert "(+3 more)" in reason


def test_an_object_that_is_not_a_record_is_refused():
    with pytest.raises(TypeError):
        check([{"account_id": "gov-health"}])  # type: ignore[list-item]


def test_threads_validating_at_once_each_get_their_own_verdict():
    def run(account_id: str) -> ValidationReport:
        duplicate = Post(account_id, f"{account_id}-p0", NOW)
        return check([*clean_batch(), duplicate])

    with ThreadPoolExecutor(max_workers=3) as pool:
        reports = list(pool.map(run, ACCOUNTS * 2))
    for account_id, report in zip(ACCOUNTS * 2, reports, strict=True):
        assert list(report.failed) == [account_id]


def test_importing_the_module_does_not_import_great_expectations():
    probe = "import sys, flows.validate; print('great_expectations' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
