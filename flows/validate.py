"""Great Expectations gate for pulled batches: nothing downstream trusts a record before this.

Contract: :func:`validate_batch` takes the records of many accounts, validates each record
kind (profiles, posts, inbound, replies) in ONE Great Expectations validation over a pandas
DataFrame, and maps failing rows back to their accounts. Only accounts with a failing row
fail; :class:`~flows.records.Cursor` and :class:`~flows.records.FetchError` are not
validated. GX is imported lazily (it takes seconds) and its context, assets and suites are built once
per process. GX's execution engine keeps per-asset mutable state (threads validating at
once swapped verdicts), so every validation runs under one process-wide lock.
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

if TYPE_CHECKING:
    import pandas as pd

MAX_IDS_IN_REASON = 5
"""Offending ids named per reason: enough to find the rows, short enough for an alert."""

_RESULT_FORMAT = {"result_format": "COMPLETE"}
"""COMPLETE is the format that returns every failing row's index (``unexpected_index_list``)."""


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
    """One validated record type: its DataFrame columns and what is expected of them."""

    name: str
    record_type: type
    key: str
    """The column that names a row in reasons (the record's own id)."""
    ids: tuple[str, ...]
    """Id columns that must be non-empty strings."""
    timestamped: bool = True


_KINDS = (
    _Kind("profiles", Profile, key="platform_id", ids=("platform_id",), timestamped=False),
    _Kind("posts", Post, key="post_id", ids=("post_id",)),
    _Kind("inbound", Inbound, key="message_id", ids=("message_id",)),
    _Kind("replies", Reply, key="reply_id", ids=("reply_id", "in_reply_to_id")),
)
_IGNORED = (Cursor, FetchError, TokenInfo, ReadWindow)


@dataclass(frozen=True)
class _Gx:
    """The GX objects built once per process: a batch definition and a suite per kind."""

    batch_definitions: dict[str, Any]
    suites: dict[str, Any]


@dataclass(frozen=True)
class _Table:
    """One kind's rows as a DataFrame indexed by position in ``records``, and the records."""

    kind: _Kind
    frame: pd.DataFrame
    records: dict[int, Any]
    """Position in ``records`` -> record; read only for failing rows, to name them."""

    def account(self, position: int) -> str:
        """The ``failed`` key for a row: its account id (``""`` when it has none)."""
        account_id = self.records[position].account_id
        if account_id is None:
            return ""
        return account_id if isinstance(account_id, str) else str(account_id)

    def label(self, position: int) -> str:
        """How a reason names a row: its id, or ``records[i]`` when the id is missing."""
        identifier = _id_or_none(getattr(self.records[position], self.kind.key))
        return repr(identifier) if identifier else f"records[{position}]"


_LOCK = threading.Lock()
_gx: _Gx | None = None


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
    tables = _tables(records, inbound_times or {})
    params = {
        "registered_ids": _registered_in_batch(registered_ids, tables),
        "latest_allowed": utc(now) + future_skew,
    }
    report = ValidationReport(rows_checked=sum(len(table.frame) for table in tables))
    if not tables:
        return report  # an empty batch needs no GX at all (nor its 2-3 s import)
    with _LOCK:
        gx_objects = _gx_objects()
        for table in tables:
            _record_failures(report, table, _run_suite(gx_objects, table, params))
    return report


def _registered_in_batch(registered_ids: Collection[str], tables: list[_Table]) -> list[str]:
    """The registered ids among the batch's accounts: the same verdict as the full set.

    GX re-serialises an expectation's kwargs hundreds of times per validation, so a
    1,000-id value set costs ~0.5 s; trimming it to the batch's accounts avoids that.
    """
    present = {record.account_id for table in tables for record in table.records.values()}
    return sorted(present.intersection(registered_ids), key=str)


def _tables(records: Sequence[Record], inbound_times: Mapping[tuple[str, str], datetime]) -> list[_Table]:
    """The non-empty tables of a batch, one per kind."""
    rows: dict[str, list[tuple[int, Any]]] = {kind.name: [] for kind in _KINDS}
    for position, record in enumerate(records):
        kind = _kind_of(record)
        if kind is not None:
            rows[kind.name].append((position, record))
    answered = _answered_times(rows["inbound"], inbound_times)
    return [_table(kind, rows[kind.name], answered) for kind in _KINDS if rows[kind.name]]


def _kind_of(record: object) -> _Kind | None:
    """The kind a record is validated as; None for records that are not validated."""
    for kind in _KINDS:
        if isinstance(record, kind.record_type):
            return kind
    if isinstance(record, _IGNORED):
        return None
    raise TypeError(f"not a record: {type(record).__name__}")


def _answered_times(
    inbound_rows: list[tuple[int, Inbound]],
    inbound_times: Mapping[tuple[str, str], datetime],
) -> dict[tuple[str, str], datetime]:
    """When each known message was created: the warehouse's memory, overridden by this batch."""
    known = {key: utc(moment) for key, moment in inbound_times.items() if isinstance(moment, datetime)}
    for _, message in inbound_rows:
        created_at = _as_utc(message.created_at)
        if created_at is not None:  # an invalid in-batch time fails on its own row; keep memory
            known[(message.account_id, message.message_id)] = created_at
    return known


def _table(
    kind: _Kind,
    rows: list[tuple[int, Any]],
    answered: Mapping[tuple[str, str], datetime],
) -> _Table:
    """One kind's DataFrame: account_id, id columns, parsed times and per-kind extras."""
    import pandas as pd

    index = [position for position, _ in rows]
    columns: dict[str, Any] = {"account_id": [record.account_id for _, record in rows]}
    for column in kind.ids:
        columns[column] = [_id_or_none(getattr(record, column)) for _, record in rows]
    if kind.timestamped:
        columns["created_at"] = _utc_column([_as_utc(record.created_at) for _, record in rows], index)
    if kind.record_type is Inbound:
        columns["kind"] = [record.kind for _, record in rows]
    if kind.record_type is Reply:
        times = [answered.get((record.account_id, record.in_reply_to_id)) for _, record in rows]
        columns["answered_at"] = _utc_column(times, index)
    return _Table(kind, pd.DataFrame(columns, index=index), dict(rows))


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
    return value.astimezone(UTC)


def _id_or_none(value: object) -> str | None:
    """The id if it is a string, else None (GX length checks silently skip non-strings)."""
    return value if isinstance(value, str) else None


def prepare() -> None:
    """Import GX and build its context and suites now (seconds, once per process), e.g. in a
    thread while the run waits on the network, so the first batch does not pay for it."""
    with _LOCK:
        _gx_objects()


def _gx_objects() -> _Gx:
    """The process's GX objects, built on first use. The caller holds ``_LOCK``."""
    global _gx
    if _gx is None:
        _gx = _build_gx()
    return _gx


def _build_gx() -> _Gx:
    """An ephemeral context with one pandas asset and one suite per kind, progress bars off."""
    # GX logs hundreds of INFO lines at import when the root logger is verbose.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # Some GX modules pin their own logger at INFO (data_context/types/base.py): quiet them all.
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("great_expectations")]:
        logging.getLogger(name).setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("custodian_batches")
    batch_definitions, suites = {}, {}
    for kind in _KINDS:
        # One asset per kind: GX keys its metric cache by asset, so kinds never share it.
        asset = source.add_dataframe_asset(kind.name)
        batch_definitions[kind.name] = asset.add_batch_definition_whole_dataframe("whole")
        suites[kind.name] = _suite(gx.ExpectationSuite(name=kind.name), kind)
    return _Gx(batch_definitions, suites)


def _suite(suite: Any, kind: _Kind) -> Any:
    """Add the kind's expectations to an empty suite; per-call values are suite parameters."""
    import great_expectations.expectations as gxe

    expectations = [
        gxe.ExpectColumnValuesToNotBeNull(column="account_id", description="account id present"),
        gxe.ExpectColumnValuesToBeInSet(
            column="account_id",
            value_set={"$PARAMETER": "registered_ids"},
            description="account is registered",
        ),
    ]
    for column in kind.ids:
        expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=column, description="id is a string"))
        expectations.append(gxe.ExpectColumnValueLengthsToBeBetween(column=column, min_value=1, description="id is not empty"))
    expectations += _uniqueness(kind) + _timing(kind)
    if kind.record_type is Inbound:
        expectations.append(
            gxe.ExpectColumnValuesToBeInSet(column="kind", value_set=list(INBOUND_KINDS), description="known kind")
        )
    for expectation in expectations:
        suite.add_expectation(expectation)
    return suite


def _uniqueness(kind: _Kind) -> list[Any]:
    """One profile per account; otherwise the record's id is unique within its account."""
    import great_expectations.expectations as gxe

    if kind.record_type is Profile:
        return [gxe.ExpectColumnValuesToBeUnique(column="account_id", description="one profile per account")]
    return [
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["account_id", kind.key],
            description="id unique within the account",
        )
    ]


def _timing(kind: _Kind) -> list[Any]:
    """Times are valid UTC, not in the future beyond skew, and a reply follows its message."""
    import great_expectations.expectations as gxe

    if not kind.timestamped:
        return []
    expectations = [
        gxe.ExpectColumnValuesToNotBeNull(column="created_at", description="a tz-aware UTC datetime"),
        gxe.ExpectColumnValuesToBeBetween(
            column="created_at",
            max_value={"$PARAMETER": "latest_allowed"},
            description="not in the future",
        ),
    ]
    if kind.record_type is Reply:
        expectations.append(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="created_at",
                column_B="answered_at",
                or_equal=True,
                ignore_row_if="either_value_is_missing",  # message time unknown: nothing to compare
                description="reply not earlier than the message it answers",
            )
        )
    return expectations


def _run_suite(gx_objects: _Gx, table: _Table, params: dict[str, Any]) -> Any:
    """The suite's validation result for one table. The caller holds ``_LOCK``."""
    batch = gx_objects.batch_definitions[table.kind.name].get_batch(batch_parameters={"dataframe": table.frame})
    return batch.validate(
        gx_objects.suites[table.kind.name],
        result_format=_RESULT_FORMAT,
        expectation_parameters=params,
    )


def _record_failures(report: ValidationReport, table: _Table, suite_result: Any) -> None:
    """Add a reason to every account with a row that failed an expectation of the suite."""
    for result in suite_result.results:
        if result.success:
            continue
        indices = result.result.get("unexpected_index_list")
        if _raised(result) or indices is None:
            # Not evaluated, so nothing in the table can be trusted: fail every account in it.
            indices = list(table.records)
        by_account: dict[str, list[int]] = {}
        for position in indices:
            by_account.setdefault(table.account(position), []).append(position)
        for account, positions in by_account.items():
            report.failed.setdefault(account, []).append(_reason(table, result, positions))


def _raised(result: Any) -> bool:
    """True when GX could not evaluate the expectation (its exception_info says it raised)."""
    info = result.exception_info or {}
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    # Several failed metrics come as {metric_id: {"raised_exception": ..., ...}}.
    return any(isinstance(each, dict) and each.get("raised_exception") for each in info.values())


def _reason(table: _Table, result: Any, positions: list[int]) -> str:
    """e.g. ``posts: expect_compound_columns_to_be_unique on account_id, post_id (…) failed for 2 row(s): 'p1'``."""
    config = result.expectation_config
    kwargs = config.kwargs
    columns = kwargs.get("column_list") or [kwargs[name] for name in ("column", "column_A", "column_B") if name in kwargs]
    labels = list(dict.fromkeys(table.label(position) for position in positions))
    shown = ", ".join(labels[:MAX_IDS_IN_REASON])
    more = f" (+{len(labels) - MAX_IDS_IN_REASON} more)" if len(labels) > MAX_IDS_IN_REASON else ""
    if _raised(result):
        shown = f"not evaluated ({_exception_message(result)}); {shown}"
    return (
        f"{table.kind.name}: {config.type} on {', '.join(columns)} ({config.description}) "
        f"failed for {len(positions)} row(s): {table.kind.key} {shown}{more}"
    )


def _exception_message(result: Any) -> str:
    """The first exception message GX recorded for a result."""
    info = result.exception_info or {}
    candidates = [info, *[each for each in info.values() if isinstance(each, dict)]]
    messages = [each.get("exception_message") for each in candidates if each.get("exception_message")]
    return str(messages[0]) if messages else "unknown error"
