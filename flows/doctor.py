"""custodian doctor: everything that can be checked before the first run, without sending an alert.

Contract: :func:`diagnose` returns one :class:`Check` row per thing looked at — the
configuration, every token variable (by name; a value is never shown), each token's
acceptance by its platform (one cheap read: the profile), each ``api_base`` answering,
each custodian and agency tag reaching an apprise URL, the database being writable, and
the Prefect server when one is configured. It writes nothing anywhere.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests

from flows.config import ConfigError, load_config
from flows.platforms import get_platform
from flows.platforms.http import make_session
from flows.records import Target

PROBE_TIMEOUT = (5.0, 10.0)


@dataclass(frozen=True)
class Check:
    area: str
    subject: str
    ok: bool
    detail: str


def diagnose(config_dir: Path, db_path: Path) -> list[Check]:
    """Every check, in the order an operator fixes things."""
    try:
        config = load_config(config_dir)
    except ConfigError as exc:
        return [Check("configuration", str(config_dir), False, problem) for problem in exc.problems]
    rows = [Check("configuration", str(config_dir), True,
                  f"{len(config.registry.agencies)} agencies, {len(config.registry.accounts)} accounts")]
    rows += [Check("configuration", str(config_dir), True, f"warning: {w}") for w in config.warnings]
    rows += _tokens(config)
    rows += _reachable(config)
    rows += _tags(config)
    rows.append(_database(db_path))
    prefect = _prefect()
    if prefect:
        rows.append(prefect)
    return rows


def _tokens(config) -> list[Check]:
    """Each account's token variable set, and accepted by its platform (one profile read)."""
    rows: list[Check] = []
    session = make_session("doctor", timeout=PROBE_TIMEOUT)
    try:
        for account in config.registry.accounts:
            platform = get_platform(account.platform)
            if not account.token_env:
                if platform.credential and platform.credential.required:
                    rows.append(Check("token", account.id, False,
                                      f"{account.platform} needs {platform.credential.holds}: set token_env"))
                continue
            if not os.environ.get(account.token_env):
                rows.append(Check("token", account.id, False, f"${account.token_env} is not set"))
                continue
            rows.append(_token_accepted(platform, account, session))
    finally:
        session.close()
    return rows


def _token_accepted(platform, account, session: requests.Session) -> Check:
    target = Target(account_id=account.id, platform=account.platform, api_base=account.api_base,
                    handle=account.handle, token=account.token())
    try:
        refusal = platform.check_token(target, session)
    except Exception as exc:  # noqa: BLE001 - a reader bug is a failing row, not a crashed doctor
        return Check("token", account.id, False, f"${account.token_env} could not be checked: {type(exc).__name__}")
    if refusal:
        return Check("token", account.id, False, f"${account.token_env} rejected by {account.platform}: {refusal}")
    return Check("token", account.id, True, f"${account.token_env} accepted by {account.platform}")


def _reachable(config) -> list[Check]:
    """Each distinct api_base answers HTTP at all (any status below 500)."""
    rows = []
    with requests.Session() as session:
        for base in sorted({a.api_base for a in config.registry.accounts}):
            try:
                with session.get(base, timeout=PROBE_TIMEOUT, allow_redirects=True) as response:
                    status = response.status_code
            except requests.RequestException as exc:
                rows.append(Check("reachable", base, False, type(exc).__name__))
                continue
            rows.append(Check("reachable", base, status < 500, f"HTTP {status}"))
    return rows


def _tags(config) -> list[Check]:
    """Every custodian and agency tag, and the oversight tag, carried by at least one apprise URL."""
    wanted = {t for a in config.registry.accounts for t in a.custodians}
    wanted |= {t for a in config.registry.agencies for t in a.notify} | {"oversight"}
    return [Check("apprise tag", tag, tag in config.apprise_tags,
                  "carried by an apprise URL" if tag in config.apprise_tags else "no apprise URL carries this tag")
            for tag in sorted(wanted)]


def _database(path: Path) -> Check:
    folder = path.resolve().parent
    existing = folder
    while not existing.exists():
        existing = existing.parent
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".custodian-doctor-"):
            pass
    except OSError as exc:
        return Check("database", str(path), False, f"cannot write in {existing}: {exc.strerror}")
    if path.exists() and not os.access(path, os.W_OK):
        return Check("database", str(path), False, "the file is not writable")
    return Check("database", str(path), True, "writable" if path.exists() else f"will be created in {folder}")


def _prefect() -> Check | None:
    """The configured Prefect server's health; None when runs use Prefect's temporary server."""
    api = os.environ.get("PREFECT_API_URL")
    if not api:
        return None
    try:
        response = requests.get(api.rstrip("/") + "/health", timeout=PROBE_TIMEOUT)
    except requests.RequestException as exc:
        return Check("prefect", api, False, type(exc).__name__)
    return Check("prefect", api, response.ok, f"HTTP {response.status_code}")
