"""Great Expectations' side of the batch gate: ONE suite over ONE frame holding every record kind.

Contract: :func:`gx_suite` builds the ephemeral context and the suite once per process (the
caller serialises every use under one lock: GX's execution engine keeps mutable state);
:func:`failures` validates a frame built by :mod:`flows.validate` and returns a
:class:`Failure` per expectation that failed, with the frame index of every failing row.

Why one suite and two passes (profiled, see README ``## Performance``): GX's cost is per
expectation and per validation, not per row (it rebuilds each expectation's configuration
~100 times per validation, the registered-id value set included), so the four kinds share
one validation of 12 expectations instead of four of 34; and the first pass asks only
BOOLEAN_ONLY, re-running with COMPLETE (every failing row's index) just the expectations that
failed. Columns a kind does not have hold values its own checks would pass, or null where GX
skips nulls, so each row meets exactly the expectations of its kind's former suite.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flows.records import INBOUND_KINDS

CHECK = "check"
"""The ``meta`` key naming each expectation of the suite (results are matched by it)."""


@dataclass(frozen=True)
class Failure:
    """One failed expectation, as plain data (it travels from the GX worker process): its
    type, description and frame columns, and the failing rows' frame index; ``rows`` is None
    when GX gave none (then no row can be trusted)."""

    check: str
    type: str
    description: str
    columns: tuple[str, ...]
    rows: list[int] | None
    error: str | None
    """Set when GX could not evaluate the expectation: its first exception message."""


@dataclass(frozen=True)
class GxSuite:
    """The GX objects built once per process: the frame asset's batch definition and the suite."""

    batch_definition: Any
    suite: Any
    expectations: dict[str, Any]
    """Check name -> the suite's expectation, to re-run one alone with COMPLETE."""


def gx_suite() -> GxSuite:
    """An ephemeral context with one pandas asset and the suite, progress bars off."""
    # GX logs hundreds of INFO lines at import when the root logger is verbose.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # Some GX modules pin their own logger at INFO (data_context/types/base.py): quiet them all.
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("great_expectations")]:
        logging.getLogger(name).setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("custodian_batches").add_dataframe_asset("records")
    suite = gx.ExpectationSuite(name="records")
    expectations = {}
    for check, expectation in _expectations().items():
        expectation.meta = {CHECK: check}
        expectations[check] = suite.add_expectation(expectation)
    return GxSuite(asset.add_batch_definition_whole_dataframe("whole"), suite, expectations)


def _expectations() -> dict[str, Any]:
    """Check name -> expectation; per-call values are suite parameters."""
    import great_expectations.expectations as gxe

    return {
        "account_present": gxe.ExpectColumnValuesToNotBeNull(column="account_id", description="account id present"),
        "account_registered": gxe.ExpectColumnValuesToBeInSet(
            column="account_id", value_set={"$PARAMETER": "registered_ids"}, description="account is registered"),
        "id_string": gxe.ExpectColumnValuesToNotBeNull(column="id", description="id is a string"),
        "id_not_empty": gxe.ExpectColumnValueLengthsToBeBetween(column="id", min_value=1, description="id is not empty"),
        "reply_to_string": gxe.ExpectColumnValuesToNotBeNull(column="in_reply_to_id", description="id is a string"),
        "reply_to_not_empty": gxe.ExpectColumnValueLengthsToBeBetween(
            column="in_reply_to_id", min_value=1, description="id is not empty"),
        "one_profile": gxe.ExpectColumnValuesToBeUnique(column="profile_account", description="one profile per account"),
        "id_unique": gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["scope_account", "scope_kind", "scope_id"], description="id unique within the account"),
        "time_valid": gxe.ExpectColumnValuesToNotBeNull(column="created_at", description="a tz-aware UTC datetime"),
        "not_future": gxe.ExpectColumnValuesToBeBetween(
            column="created_at", max_value={"$PARAMETER": "latest_allowed"}, description="not in the future"),
        "reply_after_message": gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="created_at", column_B="answered_at", or_equal=True,
            ignore_row_if="either_value_is_missing",  # message time unknown: nothing to compare
            description="reply not earlier than the message it answers"),
        "known_kind": gxe.ExpectColumnValuesToBeInSet(
            column="kind", value_set=list(INBOUND_KINDS), description="known kind"),
    }


def failures(gx_objects: GxSuite, frame: Any, params: dict[str, Any]) -> list[Failure]:
    """The suite's failed expectations on ``frame``, each with its failing rows. The caller
    holds the lock. Pass one is BOOLEAN_ONLY; only what failed is re-run for row indices."""
    batch = gx_objects.batch_definition.get_batch(batch_parameters={"dataframe": frame})
    verdict = batch.validate(gx_objects.suite, result_format={"result_format": "BOOLEAN_ONLY"},
                             expectation_parameters=params)
    failed = [result.expectation_config.meta[CHECK] for result in verdict.results if not result.success]
    found = []
    for check in failed:
        result = batch.validate(gx_objects.expectations[check], result_format={"result_format": "COMPLETE"},
                                expectation_parameters=params)
        if result.success:  # cannot happen on the same frame; trust the full result if it does
            continue
        error = _exception_message(result) if _raised(result) else None
        rows = None if error else result.result.get("unexpected_index_list")
        config = result.expectation_config
        kwargs = config.kwargs
        columns = kwargs.get("column_list") or [kwargs[name] for name in ("column", "column_A", "column_B") if name in kwargs]
        found.append(Failure(check, config.type, config.description, tuple(columns), rows and list(rows), error))
    return found


def _raised(result: Any) -> bool:
    """True when GX could not evaluate the expectation (its exception_info says it raised)."""
    info = result.exception_info or {}
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    # Several failed metrics come as {metric_id: {"raised_exception": ..., ...}}.
    return any(isinstance(each, dict) and each.get("raised_exception") for each in info.values())


def _exception_message(result: Any) -> str:
    """The first exception message GX recorded for a result."""
    info = result.exception_info or {}
    candidates = [info, *[each for each in info.values() if isinstance(each, dict)]]
    messages = [each.get("exception_message") for each in candidates if each.get("exception_message")]
    return str(messages[0]) if messages else "unknown error"
