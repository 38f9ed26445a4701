"""Scripted faults: which accounts' responses break, and how (``--faults SPEC``).

SPEC is a comma-separated list of rules, each ``SCOPE:KIND[=ARG][@RATE%]``::

    mastodon:5xx-burst@10%,account=moh-blog:truncated,wordpress:users-500,*:hang=3@5%

- ``SCOPE``: a fake platform's name, ``*`` (every platform), or ``account=<registry id>``.
- ``KIND``: one of :data:`FAULT_KINDS`; some take ``=ARG`` (a count, seconds, a status or a field).
- ``@RATE%``: the share of the scope's accounts the rule hits, chosen by a hash of the
  government's seed, the rule's kind and the account id, so the same SPEC and seed break the
  same accounts every time. Without it the rule hits every account of its scope.

An account gets at most one fault: ``account=`` rules first, then the others in SPEC order.
A fault acts on the requests the fake platform attributes to the account (those it asks
``SimEnv.failed`` about); everything else is answered as usual. :func:`parse` refuses a bad
SPEC with :class:`FaultSpecError` naming the bad rule and why.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import threading
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

from flows.simulator.fault_bodies import Transport, broken_body, drifted_body, padded_body, truncated_body
from flows.simulator.wire import Request, Response, failure

FAULT_KINDS: dict[str, str] = {
    "5xx-burst": "the account's first N requests (=N, default 2) answer 503, then all is well",
    "5xx": "every request answers 500 (=STATUS for another 5xx)",
    "429": "every request answers 429 without Retry-After",
    "429-retry-after": "every request answers 429 with Retry-After: S (=S, default 1)",
    "hang": "the request is read, nothing is sent for S seconds (=S, default 30), then the connection closes",
    "slow-body": "headers at once, the body dripped over S seconds (=S, default 2)",
    "truncated": "the body cut in half, Content-Length saying the cut length (a proxy cut it)",
    "cut": "Content-Length of the whole body, the connection closed half-way through it",
    "malformed": "the body replaced by broken JSON (or XML for a feed) of the same type",
    "401": "every request answers 401", "403": "every request answers 403",
    "404": "every request answers 404", "410": "every request answers 410",
    "drift-missing": "a field (=FIELD, default the body's commonest timestamp field) removed everywhere",
    "drift-type": "a field (=FIELD, default as drift-missing) in another JSON type: a timestamp as epoch "
                  "seconds, digits as a number, a number as a string",
    "drift-new": "a new field added to every object (every feed entry)",
    "1mb": "the body padded beyond 1 MB, still valid",
    "users-500": "WordPress's /wp-json/wp/v2/users answers 500, everything else is well",
    "paging-stops": "every request for a second or later page answers 500",
}
NUMERIC_ARG = {"5xx-burst": (1, 100), "5xx": (500, 599), "429-retry-after": (0, 3600), "hang": (0, 600),
               "slow-body": (0, 600)}
TAKES_FIELD = ("drift-missing", "drift-type")
STATUS_KINDS = ("401", "403", "404", "410")
LATER_PAGE = ("max_id", "cursor", "pageToken", "pagination_token", "next_token", "continue", "until_id")
USERS_PATH = "/wp/v2/users"
_RULE = re.compile(r"^(?P<scope>[^:]+):(?P<kind>[^=@]+)(?:=(?P<arg>[^@]*))?(?:@(?P<rate>[^%]*)%)?$")


class FaultSpecError(ValueError):
    """A SPEC that cannot be read; the message names the rule and what is wrong with it."""


@dataclass(frozen=True)
class Fault:
    """One rule of a SPEC: where it applies, what it does, to what share of accounts."""

    scope: str
    kind: str
    arg: str | None = None
    rate: float | None = None

    def hits(self, account_id: str, platform: str, seed: int) -> bool:
        """Whether this rule breaks the account (deterministic in seed, kind and account)."""
        if self.scope.startswith("account="):
            return self.scope.removeprefix("account=") == account_id
        if self.scope not in ("*", platform):
            return False
        if self.rate is None:
            return True
        digest = hashlib.sha256(f"{seed}:{self.kind}:{account_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.rate

    def number(self, default: float) -> float:
        return float(self.arg) if self.arg else default


def parse(spec: str, platforms: Collection[str] = (), accounts: Collection[str] = ()) -> list[Fault]:
    """The rules of ``spec``; raises FaultSpecError naming each bad rule (platform and account
    names are checked only when ``platforms``/``accounts`` are given)."""
    rules = [part.strip() for part in spec.split(",")]
    problems, faults = [], []
    for number, rule in enumerate(rules, 1):
        try:
            faults.append(_rule(rule, platforms, accounts))
        except FaultSpecError as exc:
            problems.append(f"rule {number} {rule!r}: {exc}")
    if problems:
        raise FaultSpecError("bad --faults SPEC: " + "; ".join(problems))
    return faults


def _rule(rule: str, platforms: Collection[str], accounts: Collection[str]) -> Fault:
    match = _RULE.match(rule)
    if not rule or not match:
        raise FaultSpecError("expected SCOPE:KIND[=ARG][@RATE%], e.g. mastodon:5xx-burst@10%")
    scope, kind, arg, rate = (match["scope"].strip(), match["kind"].strip(), match["arg"], match["rate"])
    if kind not in FAULT_KINDS:
        near = difflib.get_close_matches(kind, FAULT_KINDS, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise FaultSpecError(f"unknown fault {kind!r}{hint}; known: {', '.join(FAULT_KINDS)}")
    _check_scope(scope, platforms, accounts)
    return Fault(scope, kind, _checked_arg(kind, arg), _checked_rate(rate))


def _check_scope(scope: str, platforms: Collection[str], accounts: Collection[str]) -> None:
    if scope.startswith("account="):
        account = scope.removeprefix("account=")
        if not account or (accounts and account not in accounts):
            raise FaultSpecError(f"no account {account!r} in the government")
    elif scope != "*" and platforms and scope not in platforms:
        raise FaultSpecError(f"unknown platform {scope!r}; known: {', '.join(platforms)}")


def _checked_arg(kind: str, arg: str | None) -> str | None:
    if arg is None or arg == "":
        return None
    if kind in NUMERIC_ARG:
        low, high = NUMERIC_ARG[kind]
        try:
            value = float(arg)
        except ValueError:
            value = float("nan")
        if not low <= value <= high:
            raise FaultSpecError(f"{kind}={arg}: wants a number from {low} to {high}")
        return arg
    if kind in TAKES_FIELD:
        if not re.fullmatch(r"[A-Za-z_][\w.-]*", arg):
            raise FaultSpecError(f"{kind}={arg}: wants a field name")
        return arg
    raise FaultSpecError(f"{kind} takes no argument (got {arg!r})")


def _checked_rate(rate: str | None) -> float | None:
    if rate is None:
        return None
    try:
        value = float(rate)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 100:
        raise FaultSpecError(f"rate {rate!r}% must be a number above 0 and at most 100")
    return value / 100


@dataclass
class FaultPlan:
    """Which account gets which fault, and the per-account state a fault keeps (burst counts)."""

    faults: list[Fault]
    by_account: dict[str, Fault]
    served: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, spec: str, platform_of: Mapping[str, str], seed: int, known_platforms: Collection[str]) -> FaultPlan:
        """Parse ``spec`` and decide, once, the fault of each account (``platform_of``: id → platform)."""
        faults = parse(spec, known_platforms, platform_of)
        ordered = [f for f in faults if f.scope.startswith("account=")] + [
            f for f in faults if not f.scope.startswith("account=")]
        chosen = {}
        for account_id, platform in platform_of.items():
            if hit := next((f for f in ordered if f.hits(account_id, platform, seed)), None):
                chosen[account_id] = hit
        return cls(faults, chosen)

    def apply(self, req: Request, response: Response, account_ids: list[str]) -> Response:
        """The response as the fault of the first faulted account among ``account_ids`` makes it."""
        account_id = next((a for a in account_ids if a in self.by_account), None)
        if account_id is None:
            return response
        with self.lock:
            self.served[account_id] += 1
            count = self.served[account_id]
        return _faulted(self.by_account[account_id], req, response, count)


def _faulted(fault: Fault, req: Request, response: Response, count: int) -> Response:
    kind = fault.kind
    if kind == "5xx-burst":
        return failure(503) if count <= fault.number(2) else response
    if kind == "5xx":
        return failure(int(fault.number(500)))
    if kind in ("429", "429-retry-after"):
        broken = failure(429, {"error": "Too many requests"})
        if kind == "429-retry-after":
            broken.headers.append(("Retry-After", str(int(fault.number(1)))))
        return broken
    if kind in STATUS_KINDS:
        return failure(int(kind))
    if kind == "users-500":
        return failure(500) if USERS_PATH in req.path or USERS_PATH in (req.arg("rest_route") or "") else response
    if kind == "paging-stops":
        return failure(500) if _later_page(req) else response
    if kind in ("hang", "slow-body", "cut"):
        seconds = fault.number(30 if kind == "hang" else 2)
        return replace(response, transport=Transport.of(kind, seconds, len(response.body)))
    if response.status != 200 or not response.body:
        return response
    return replace(response, body=_body_fault(fault, response))


def _body_fault(fault: Fault, response: Response) -> bytes:
    if fault.kind == "truncated":
        return truncated_body(response.body)
    if fault.kind == "malformed":
        return broken_body(response.body, response.content_type)
    if fault.kind == "1mb":
        return padded_body(response.body, response.content_type)
    return drifted_body(response.body, response.content_type, fault.kind, fault.arg)


def _later_page(req: Request) -> bool:
    """A request for a page after the first, in any platform's paging dialect."""
    page, offset = req.arg("page") or "1", req.arg("offset") or "0"
    return (page.isdigit() and int(page) > 1) or (offset.isdigit() and int(offset) > 0) or any(
        req.arg(name) for name in LATER_PAGE)
