"""custodian notify test: one clearly marked test message to every apprise URL carrying a tag.

Contract: :func:`send_test` loads ``apprise.yaml`` (``${VAR}`` read from the environment),
sends to each URL carrying ``tag`` separately and returns one :class:`ChannelResult` per
URL, the URL shown in apprise's privacy form (secrets masked). It records nothing in the
warehouse: a test message is not an alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flows.config import expand_env

TEST_TITLE = "Custodian: TEST message — no action needed"


@dataclass(frozen=True)
class ChannelResult:
    url: str
    delivered: bool
    detail: str


def send_test(apprise_path: Path, tag: str) -> list[ChannelResult]:
    """Send the test message to every URL carrying ``tag``; an empty list when none does."""
    import apprise

    source = apprise.AppriseConfig()
    source.add_config(expand_env(apprise_path.read_text(encoding="utf-8")), format="yaml")
    targets = apprise.Apprise()
    targets.add(source)
    body = (f"This is a test of the channel for the tag '{tag}', sent by `custodian notify test` at "
            f"{datetime.now(UTC).isoformat(timespec='seconds')}. If you can read it, Custodian's alerts reach you here.")
    results = []
    for service in targets.find(tag, match_always=False):
        with apprise.LogCapture(level=logging.WARNING) as captured:
            delivered = bool(service.notify(body=body, title=TEST_TITLE, notify_type=apprise.NotifyType.INFO))
        logged = [line for line in captured.getvalue().strip().splitlines() if line]
        detail = "delivered" if delivered else (logged[-1] if logged else "apprise reported a failed delivery")
        results.append(ChannelResult(service.url(privacy=True), delivered, detail[:300]))
    return results
