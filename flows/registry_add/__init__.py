"""``custodian registry add``: register an official account from its profile URL.

Contract: :func:`add_account` reads the pasted URL (every spelling ``custodian verify``
accepts), refuses one already registered (naming the entry) before any request, looks the
account up through its platform's API (the look-up is the reachability check), refuses an
account registered under another spelling, then builds a complete, commented entry and checks
the registry with it exactly as ``custodian validate`` does. Only then, unless ``dry_run``,
``accounts.yaml`` is replaced (atomically) by the same file with the entry appended. Every
refusal is :class:`Refused` with a one-line message and the exit code: 1 for the account (not
found, unreachable, already there), 2 for the configuration or the options (a token missing).
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import requests

from flows import secrets
from flows.config import ACCOUNTS_FILE, Config, ConfigError, load_config
from flows.platforms.http import make_session
from flows.profile_url import fold_url, parse_profile_url
from flows.registry_add.entry import appended, new_entry, render, unique_id
from flows.registry_add.resolve import NotResolved, resolve_url
from flows.verify import find_official

EXIT_ACCOUNT, EXIT_USAGE = 1, 2


class Refused(Exception):
    """Nothing was written; ``str()`` is the one line to show, ``code`` the exit code."""

    def __init__(self, message: str, code: int = EXIT_ACCOUNT):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Wanted:
    """What the operator asked for (the command's arguments)."""

    url: str
    agency: str
    custodians: list[str]
    engagement: str = "active"
    token_env: str | None = None
    api_base: str | None = None


@dataclass(frozen=True)
class Added:
    """The entry written (or, in a dry run, that would be): its id, platform, title and YAML text."""

    account_id: str
    platform: str
    title: str
    text: str
    written: bool


def add_account(config_dir: Path, wanted: Wanted, dry_run: bool = False,
                session: requests.Session | None = None, today: date | None = None) -> Added:
    """Register ``wanted.url`` in ``config_dir`` (see the module docstring); raises :class:`Refused`."""
    config = _valid(config_dir)
    address = parse_profile_url(wanted.url)
    if address is None:
        raise Refused(f"{wanted.url!r} is not a web address (http or https)", EXIT_USAGE)
    _refuse_known(config, wanted.url)
    if wanted.agency not in {agency.id for agency in config.registry.agencies}:
        raise Refused(f"unknown agency {wanted.agency!r}; registered agencies: "
                      + ", ".join(a.id for a in config.registry.agencies), EXIT_USAGE)
    token = _token(wanted.token_env)
    try:
        platform, _, profile = resolve_url(address, wanted.api_base, token, session or make_session(retries=1))
    except NotResolved as exc:
        raise Refused(str(exc), EXIT_USAGE if exc.usage else EXIT_ACCOUNT) from None
    if wanted.token_env and platform.credential is None:
        raise Refused(f"--token-env {wanted.token_env}: a {platform.name} account takes no token", EXIT_USAGE)
    fields = dict(profile.fields)
    if fields.get("api_base") == platform.default_api_base:
        fields.pop("api_base")  # the platform's own default: nothing to say
    _refuse_same_account(config, platform.name, fields, profile.fields)
    today = today or date.today()
    ident = unique_id({a.id for a in config.registry.accounts}, wanted.agency, platform.name, fields.get("handle"))
    named_token = (wanted.token_env, platform.credential.holds) if wanted.token_env and platform.credential else None
    entry, notes = new_entry(ident, wanted.agency, platform.name, fields, profile.notes, wanted.custodians,
                             wanted.engagement, named_token, today)
    accounts_path = config_dir / ACCOUNTS_FILE
    text = appended(accounts_path.read_text(encoding="utf-8"), entry, notes, profile.title, today)
    _validate_with(config_dir, text)
    if not dry_run:
        _replace(accounts_path, text)
    shown = render(copy.deepcopy(entry), notes, profile.title, today)
    return Added(ident, platform.name, profile.title, shown, not dry_run)


def _valid(config_dir: Path) -> Config:
    try:
        return load_config(config_dir)
    except ConfigError as exc:
        raise Refused(f"{config_dir}: the configuration is invalid already ({len(exc.problems)} problems; "
                      "see `custodian validate`)", EXIT_USAGE) from None


def _token(token_env: str | None) -> str | None:
    """The token the look-up uses, from the variable the entry will name; never shown."""
    if not token_env:
        return None
    token = os.environ.get(token_env)
    if not token:
        raise Refused(f"--token-env {token_env}: the environment variable is not set", EXIT_USAGE)
    secrets.register(token)
    return token


def _refuse_known(config: Config, url: str) -> None:
    verdict = find_official(config, url)
    if verdict.official:
        raise Refused(f"already registered as {verdict.account} ({verdict.platform}, {verdict.agency_name}): {url}")


def _refuse_same_account(config: Config, platform: str, fields: dict, resolved: dict) -> None:
    """The same account under another spelling: same platform, API and handle (or same address)."""
    api_base = fold_url(resolved.get("api_base") or "")
    handle = str(fields.get("handle") or "").lower()
    for account in config.registry.accounts:
        same_api = fold_url(account.api_base) == api_base
        if account.platform == platform and same_api and (account.handle or "").lower() == handle:
            raise Refused(f"already registered as {account.id} ({platform} {handle or account.api_base})")
    _refuse_known(config, resolved.get("url") or "")


def _validate_with(config_dir: Path, text: str) -> None:
    """``custodian validate`` of the configuration as it would be with ``text`` as accounts.yaml."""
    with tempfile.TemporaryDirectory(prefix="custodian-registry-add-") as scratch:
        for item in config_dir.iterdir():
            if item.is_file():
                shutil.copy(item, Path(scratch) / item.name)
        (Path(scratch) / ACCOUNTS_FILE).write_text(text, encoding="utf-8")
        try:
            load_config(scratch)
        except ConfigError as exc:
            problems = "; ".join(p.replace(scratch, str(config_dir)) for p in exc.problems)
            raise Refused(f"the new entry would not validate: {problems}", EXIT_USAGE) from None


def _replace(path: Path, text: str) -> None:
    """Write beside the file, then rename over it: a crash leaves the old file or the new, never half."""
    temporary = path.with_name(f".{path.name}.registry-add")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
