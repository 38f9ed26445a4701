"""Great Expectations gate for pulled batches: nothing downstream trusts a record before this.

Contract: :func:`validate_batch` takes the records of many accounts, validates every record
kind (profiles, posts, inbound, replies) in ONE Great Expectations validation over one pandas
DataFrame (:mod:`flows.validate_gx`), and maps failing rows back to their accounts, each kind
judged by its own expectations. Only accounts with a failing row fail;
:class:`~flows.records.Cursor` and :class:`~flows.records.FetchError` are not validated. GX
is imported lazily (it takes seconds) and its context and suite are built once per process;
after :func:`prepare` (a run's start) GX runs in a worker process instead, answering the same
frames with the same failures. GX's execution engine keeps per-asset mutable state (threads
validating at once swapped verdicts), so every validation runs under one process-wide lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flows.records import (
    INBOUND_KINDS,
    Cursor,
    FetchError,
    Inbound,
    Post,
    Profile,
    Record,
    ReadWindow,
    Reply,
    TokenInfo,
    utc,
)
from flows.validate_worker import Worker, WorkerGone

if TYPE_CHECKING:
    import pandas as pd

    from flows.validate_gx import Failure, GxSuite

MAX_IDS_IN_REASON = 5
"""Offending ids named per reason: enough to find the rows, short enough for an alert."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""A profile's stand-in ``created_at``: profiles carry no time, and this one passes both time checks."""


@dataclass
class ValidationReport:
    """What one batch's validation found.

    ``failed`` maps each failing account id to human-readable reasons; each reason names the
    record kind, the expectation, its column(s) and up to five offending ids (or the
    ``records[i]`` position when the id itself is missing). A row without an account id is
    reported under ``""``. ``rows_checked`` counts the validated rows of all kinds.
    """

    failed: dict[str, list[str]] = field(default_factory=dict)
    rows_checked: int = 0

    def passed(self, account_id: str) -> bool:
        """True when none of the account's rows failed an expectation."""
        return account_id not in self.failed


@dataclass(frozen=True)
class _Kind:
    """One validated record type: where its columns come from and which checks judge it."""

    name: str
    record_type: type
    key: str
    """The record's own id: the ``id`` column, and what names a row in reasons."""
    checks: tuple[str, ...]
    """The :mod:`flows.validate_gx` checks that judge this kind's rows, in the order reasons come:
    the order GX reported them in when each kind had a suite of its own (it groups a suite's
    expectations by column, those without one where the first of them stood)."""
    timestamped: bool = True


_ACCOUNT = ("account_present", "account_registered")
_ID = ("id_string", "id_not_empty")
_TIMES = ("time_valid", "not_future")
_KINDS = (
    _Kind("profiles", Profile, "platform_id", (*_ACCOUNT, "one_profile", *_ID), timestamped=False),
    _Kind("posts", Post, "post_id", (*_ACCOUNT, *_ID, "id_unique", *_TIMES)),
    _Kind("inbound", Inbound, "message_id", (*_ACCOUNT, *_ID, "id_unique", *_TIMES, "known_kind")),
    _Kind("replies", Reply, "reply_id", (*_ACCOUNT, *_ID, "reply_to_string", "reply_to_not_empty", "id_unique",
                                         "reply_after_message", *_TIMES)),
)
_KIND_OF_TYPE = {kind.record_type: kind for kind in _KINDS}
_IGNORED = (Cursor, FetchError, TokenInfo, ReadWindow)
_SHOWN = {"profile_account": "account_id", "scope_account": "account_id", "scope_kind": None}
"""Frame columns as reasons name them (``id``/``scope_id`` are the kind's own key)."""
_PASSING_ID = "-"
"""``in_reply_to_id`` of a row that is not a reply: a string its two id checks pass."""


@dataclass(frozen=True)
class _Rows:
    """The batch's validated records and their kinds, keyed by position in ``records``."""

    records: dict[int, Any]
    kinds: dict[int, _Kind]

    def account(self, position: int) -> str:
        """The ``failed`` key for a row: its account id (``""`` when it has none)."""
        account_id = self.records[position].account_id
        if account_id is None:
            return ""
        return account_id if isinstance(account_id, str) else str(account_id)

    def label(self, position: int) -> str:
        """How a reason names a row: its id, or ``records[i]`` when the id is missing."""
        identifier = _id_or_none(getattr(self.records[position], self.kinds[position].key))
        return repr(identifier) if identifier else f"records[{position}]"


_LOCK = threading.Lock()
_gx: GxSuite | None = None
_WORKER = Worker()
logger = logging.getLogger(__name__)


def validate_batch(
    records: Sequence[Record],
    registered_ids: Collection[str],
    now: datetime,
    inbound_times: Mapping[tuple[str, str], datetime] | None = None,
    future_skew: timedelta = timedelta(minutes=10),
) -> ValidationReport:
    """Validate a batch of many accounts' records; see the module docstring.

    ``inbound_times`` maps (account_id, message_id) to the ``created_at`` the warehouse
    already holds, for replies whose message is not in this batch (in-batch Inbound wins).
    A naive ``now`` or ``inbound_times`` value is taken as UTC. Raises TypeError for an
    object that is not a record.
    """
    rows = _rows(records)
    report = ValidationReport(rows_checked=len(rows.records))
    if not rows.records:
        return report  # an empty batch needs no GX at all (nor its 2-3 s import)
    frame = _frame(rows, _answered_times(rows, inbound_times or {}))
    params = {
        "registered_ids": _registered_in_batch(registered_ids, rows),
        "latest_allowed": utc(now) + future_skew,
    }
    with _LOCK:
        found = _failures(frame, params)
    _record_failures(report, rows, found)
    return report


def _failures(frame: pd.DataFrame, params: dict[str, Any]) -> list[Failure]:
    """GX's failures for the frame: from the worker process when one runs (see
    :func:`prepare`), else, or when it cannot answer, computed here. The caller holds ``_LOCK``."""
    if _WORKER.alive():
        try:
            return _WORKER.failures(frame, params)
        except WorkerGone as exc:
            logger.warning("validating in-process: %s", exc)
    from flows.validate_gx import failures

    return failures(_gx_objects(), frame, params)


def failures_here(frame: pd.DataFrame, params: dict[str, Any]) -> list[Failure]:
    """GX's failures for a frame, computed in this process (the worker's side of the pipe)."""
    from flows.validate_gx import failures

    with _LOCK:
        return failures(_gx_objects(), frame, params)


def _registered_in_batch(registered_ids: Collection[str], rows: _Rows) -> list[str]:
    """The registered ids among the batch's accounts: the same verdict as the full set.

    GX re-serialises an expectation's kwargs hundreds of times per validation, so a
    1,000-id value set costs ~0.5 s; trimming it to the batch's accounts avoids that.
    """
    present = {record.account_id for record in rows.records.values()}
    return sorted(present.intersection(registered_ids), key=str)


def _rows(records: Sequence[Record]) -> _Rows:
    """The records that are validated, and their kinds."""
    kept: dict[int, Any] = {}
    kinds: dict[int, _Kind] = {}
    for position, record in enumerate(records):
        kind = _KIND_OF_TYPE.get(type(record)) or _kind_of(record)
        if kind is not None:
            kept[position] = record
            kinds[position] = kind
    return _Rows(kept, kinds)


def _kind_of(record: object) -> _Kind | None:
    """The kind a record (or a subclass's) is validated as; None for records that are not validated."""
    for kind in _KINDS:
        if isinstance(record, kind.record_type):
            return kind
    if isinstance(record, _IGNORED):
        return None
    raise TypeError(f"not a record: {type(record).__name__}")


def _answered_times(rows: _Rows, inbound_times: Mapping[tuple[str, str], datetime]) -> dict[tuple[str, str], datetime]:
    """When each known message was created: the warehouse's memory, overridden by this batch."""
    known = {key: utc(moment) for key, moment in inbound_times.items() if isinstance(moment, datetime)}
    for position, message in rows.records.items():
        if rows.kinds[position].record_type is Inbound:
            created_at = _as_utc(message.created_at)
            if created_at is not None:  # an invalid in-batch time fails on its own row; keep memory
                known[(message.account_id, message.message_id)] = created_at
    return known


def _frame(rows: _Rows, answered: Mapping[tuple[str, str], datetime]) -> pd.DataFrame:
    """Every kind's rows in one DataFrame indexed by position in ``records``, built column by
    column. A column a kind lacks holds what that kind's checks never fail on (see _PASSING_ID,
    _EPOCH) or null, which GX's value checks skip."""
    import pandas as pd

    index = list(rows.records)
    records = list(rows.records.values())
    kinds = list(rows.kinds.values())
    account_ids = [record.account_id for record in records]
    ids = [_id_or_none(getattr(record, kind.key)) for record, kind in zip(records, kinds)]
    replies = [kind.record_type is Reply for kind in kinds]
    columns: dict[str, Any] = {
        "account_id": account_ids,
        "id": ids,
        "in_reply_to_id": [_id_or_none(r.in_reply_to_id) if reply else _PASSING_ID for r, reply in zip(records, replies)],
        "kind": [record.kind if kind.record_type is Inbound else None for record, kind in zip(records, kinds)],
        "created_at": _utc_column([_as_utc(r.created_at) if k.timestamped else _EPOCH for r, k in zip(records, kinds)],
                                  index),
        "answered_at": _utc_column([answered.get((r.account_id, r.in_reply_to_id)) if reply else None
                                    for r, reply in zip(records, replies)], index),
        **_uniqueness_columns(account_ids, ids, kinds),
    }
    return pd.DataFrame(columns, index=index)


def _uniqueness_columns(account_ids: list[Any], ids: list[str | None], kinds: list[_Kind]) -> dict[str, list]:
    """``profile_account``: a profile's account, null on other rows (GX's uniqueness skips
    nulls). ``scope_*``: (account, kind, id) of the other rows, so an id is unique within its
    account and kind; all null for profiles, and for a row missing both account and id, which
    GX ignores (``all_values_are_missing``) as it did for (account_id, id) per kind."""
    profile = [kind.record_type is Profile for kind in kinds]
    return {
        "profile_account": [account if is_profile else None for account, is_profile in zip(account_ids, profile)],
        "scope_account": [None if is_profile else account for account, is_profile in zip(account_ids, profile)],
        "scope_kind": [None if is_profile or (_missing(account) and identifier is None) else kind.name
                       for account, identifier, kind, is_profile in zip(account_ids, ids, kinds, profile)],
        "scope_id": [None if is_profile else identifier for identifier, is_profile in zip(ids, profile)],
    }


def _missing(value: object) -> bool:
    """Whether pandas (and so GX) counts a value as missing: None or NaN."""
    return value is None or (isinstance(value, float) and value != value)


def _utc_column(values: list[datetime | None], index: list[int]) -> pd.Series:
    """A tz-aware UTC datetime column; None becomes NaT, which the not-null expectation catches."""
    import pandas as pd

    return pd.Series(values, index=index, dtype="datetime64[us, UTC]")


def _as_utc(value: object) -> datetime | None:
    """The value if it is a tz-aware datetime at UTC offset zero, else None.

    A naive datetime, another offset, a string or a date all count as unparseable: the
    records contract promises tz-aware UTC, and a silent guess would hide a module's bug.
    """
    if not isinstance(value, datetime) or value.utcoffset() != timedelta(0):
        return None
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _id_or_none(value: object) -> str | None:
    """The id if it is a string, else None (GX length checks silently skip non-strings)."""
    return value if isinstance(value, str) else None


def prepare(worker: bool = True) -> None:
    """Get GX ready before the first batch (its import and set-up take seconds, once).

    ``worker=True`` (a run's start): launch the GX worker process and return at once; GX loads
    there, on the other core, and every later validation runs there (:mod:`flows.validate_worker`).
    ``worker=False``: import GX here, build its context and suite and validate a tiny batch
    (GX imports more on its first validation: 2.4 s of a first 61-record call, profiled).
    """
    if worker:
        with _LOCK:
            _WORKER.start()
        return
    with _LOCK:
        _gx_objects()
    warm_up = [Profile("warm-up", "p"), Post("warm-up", "", _EPOCH), Inbound("warm-up", "m", _EPOCH, "reply"),
               Reply("warm-up", "r", "m", _EPOCH)]
    validate_batch(warm_up, ["warm-up"], _EPOCH)  # the empty post id fails: the COMPLETE pass loads too


def stop_worker() -> None:
    """Stop the GX worker process, if one runs (later batches validate in this process)."""
    with _LOCK:
        _WORKER.stop()


def _gx_objects() -> GxSuite:
    """The process's GX objects, built on first use. The caller holds ``_LOCK``."""
    global _gx
    if _gx is None:
        from flows.validate_gx import gx_suite

        _gx = gx_suite()
    return _gx


def _record_failures(report: ValidationReport, rows: _Rows, found: list[Failure]) -> None:
    """Add a reason to every account with a row that failed a check of its kind, kind by kind
    and check by check (the order reasons always came in)."""
    by_check = {failure.check: failure for failure in found}
    positions: dict[str, list[int]] = {kind.name: [] for kind in _KINDS}
    for position, kind in rows.kinds.items():
        positions[kind.name].append(position)
    for kind in _KINDS:
        for failure in [by_check[check] for check in kind.checks if check in by_check]:
            mine = positions[kind.name]
            failing = mine if failure.rows is None else [p for p in failure.rows if rows.kinds[p] is kind]
            by_account: dict[str, list[int]] = {}
            for position in failing:
                by_account.setdefault(rows.account(position), []).append(position)
            for account, account_positions in by_account.items():
                report.failed.setdefault(account, []).append(_reason(kind, rows, failure, account_positions))


def _reason(kind: _Kind, rows: _Rows, failure: Failure, positions: list[int]) -> str:
    """e.g. ``posts: expect_compound_columns_to_be_unique on account_id, post_id (…) failed for 2 row(s): 'p1'``."""
    shown_columns = [kind.key if column in ("id", "scope_id") else _SHOWN.get(column, column) for column in failure.columns]
    labels = list(dict.fromkeys(rows.label(position) for position in positions))
    shown = ", ".join(labels[:MAX_IDS_IN_REASON])
    more = f" (+{len(labels) - MAX_IDS_IN_REASON} more)" if len(labels) > MAX_IDS_IN_REASON else ""
    if failure.error:
        shown = f"not evaluated ({failure.error}); {shown}"
    return (
        f"{kind.name}: {failure.type} on {', '.join(c for c in shown_columns if c)} ({failure.description}) "
        f"failed for {len(positions)} row(s): {kind.key} {shown}{more}"
    )
