"""What the warehouse keeps of people: personal data masked, citizens' authors hashed, old text purged.

Contract:
- :func:`mask_personal_data` gives the text to store (every piece of personal data replaced by
  its kind, ``[phone]``) and the sorted kinds; the data itself never reaches a row.
- :func:`author_hash` is the salted SHA-256 (HMAC) of a citizen's handle. The salt comes from
  where :func:`use_salt` says (the monitor follows policy ``privacy:``): a Prefect Secret block
  when one is named, else an environment variable (default ``CUSTODIAN_AUTHOR_SALT``); never a
  file. Without a salt the author is not stored at all (``None``) and a warning is logged once
  per process. The salt is registered with flows.secrets, so no log line or error shows it.
- :func:`purge_inbound_text` empties the text of citizens' messages older than the retention
  period and stamps ``text_purged_at``; times, threads, replies and ``is_question`` stay, so no
  check's finding changes. A purged message sent again stays purged (the merge's upsert keeps
  its text NULL: flows.warehouse.store.KEEP_PURGED).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from flows.detect.personal_data import allow_list, detect
from flows.secrets import register as register_secret

SALT_ENV = "CUSTODIAN_AUTHOR_SALT"
log = logging.getLogger(__name__)
_warned_no_salt = False


@dataclass(frozen=True)
class SaltSource:
    """Where the author salt is read: the Prefect Secret block ``secret_block`` if named, else ``env``."""

    env: str = SALT_ENV
    secret_block: str | None = None

    def describe(self) -> str:
        return f"the Prefect Secret block {self.secret_block!r}" if self.secret_block else self.env


_source = SaltSource()
_block_salts: dict[str, str | None] = {}
"""Salts loaded from Secret blocks, per block name (None: it failed), held in memory only."""


def use_salt(env: str = SALT_ENV, secret_block: str | None = None) -> None:
    """Take the author salt from ``secret_block`` (a Prefect Secret block) or else from ``env``.
    A block that failed to load before is tried again (each run calls this first)."""
    global _source
    _source = SaltSource(env, secret_block or None)
    for name in [name for name, salt in _block_salts.items() if salt is None]:
        del _block_salts[name]


def _salt() -> str | None:
    """The salt from the configured source (None when it gives none), registered as a secret."""
    if _source.secret_block is None:
        salt = os.environ.get(_source.env) or None
    else:
        if _source.secret_block not in _block_salts:  # once per run, not once per message
            _block_salts[_source.secret_block] = _load_block(_source.secret_block)
        salt = _block_salts[_source.secret_block]
    register_secret(salt)
    return salt


def _load_block(name: str) -> str | None:
    """The value of Prefect Secret block ``name``; None (with a warning naming the block, never a
    value) when the server cannot give it."""
    from prefect.blocks.system import Secret

    try:
        value = Secret.load(name, _sync=True).get()
    except Exception as exc:  # noqa: BLE001 - no salt means no author stored, never a stopped run
        log.warning("the Prefect Secret block %r could not be loaded (%s): citizens' authors are not stored",
                    name, type(exc).__name__)
        return None
    if not isinstance(value, str) or not value:
        log.warning("the Prefect Secret block %r holds no text: citizens' authors are not stored", name)
        return None
    return value


def mask_personal_data(text: str | None, allowed: frozenset[str] = frozenset()) -> tuple[str | None, list[str]]:
    """(text with each piece of personal data replaced by ``[kind]``, sorted kinds found)."""
    if not text:
        return text, []
    found = detect(text, allowed)
    masked, last = [], 0
    for item in found:
        if item.start < last:  # overlapping finds: the earlier one already covers it
            continue
        masked += [text[last:item.start], f"[{item.kind}]"]
        last = item.end
    masked.append(text[last:])
    return "".join(masked), sorted({item.kind for item in found})


def mask_post(row: dict, allowed: frozenset[str] = frozenset()) -> dict:
    """A post's ``text``, ``links`` and ``media_urls`` with personal data replaced by its kind, and
    ``personal_data_kinds`` found in any of them (a link can publish an e-mail address as well as the text)."""
    text, kinds = mask_personal_data(row["text"], allowed)
    addresses = {column: [mask_personal_data(url, allowed) for url in row[column]] for column in ("links", "media_urls")}
    found = set(kinds).union(*(k for pairs in addresses.values() for _, k in pairs))
    return {"text": text, "personal_data_kinds": sorted(found),
            **{column: [url for url, _ in pairs] for column, pairs in addresses.items()}}


def allowed_contacts(con: duckdb.DuckDBPyConnection, account_ids: list[str] | None = None) -> dict[str, frozenset[str]]:
    """Each registered account's allow-list (of ``account_ids`` only, when given: a batch's, so a
    merge does not walk the whole registry): its agency's published contacts, normalised."""
    only = "" if account_ids is None else " WHERE a.account_id IN (SELECT unnest($ids))"
    rows = con.execute("SELECT a.account_id, g.public_contacts FROM accounts a "
                       "JOIN agencies g USING (agency_id)" + only, {} if account_ids is None else {"ids": account_ids}).fetchall()
    return {account_id: allow_list(contacts or []) for account_id, contacts in rows}


def author_hash(author: str | None) -> str | None:
    """The salted hash of a citizen's handle, or None (no author, or no salt configured)."""
    global _warned_no_salt
    if not author:
        return None
    salt = _salt()
    if not salt:
        if not _warned_no_salt:
            log.warning("%s %s: citizens' authors are not stored (set it to group messages by author)",
                        _source.describe(), "gave no salt" if _source.secret_block else "is not set")
            _warned_no_salt = True
        return None
    return hmac.new(salt.encode(), author.strip().casefold().encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PurgeSummary:
    """How many citizens' messages had (or would have) their text purged, and the cut-off."""

    messages: int
    older_than: datetime
    dry_run: bool


_DUE = "text_purged_at IS NULL AND coalesce(text, '') <> '' AND created_at < $cutoff"


def purge_inbound_text(con: duckdb.DuckDBPyConnection, retention_days: float, now: datetime,
                       dry_run: bool = False) -> PurgeSummary:
    """Empty the text of citizens' messages created before ``now - retention_days``."""
    cutoff = now - timedelta(days=retention_days)
    due = con.execute(f"SELECT count(*) FROM inbound WHERE {_DUE}", {"cutoff": cutoff}).fetchone()[0]
    if due and not dry_run:
        con.execute(f"UPDATE inbound SET text = NULL, text_purged_at = $now WHERE {_DUE}",
                    {"cutoff": cutoff, "now": now})
    return PurgeSummary(due, cutoff, dry_run)
