"""A local delivery target for apprise's ``json://`` notifications.

``POST /inbox/<tag>`` stores apprise's body (``version, title, message, attachments,
type``) with the tag and the time it arrived; ``GET /inbox`` lists every delivery and
``GET /inbox/<tag>`` those for one tag. With ``inbox_file`` set, each delivery is also
appended to that file as one JSON line, so a demo can show what was sent.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flows.simulator.wire import Request, Response, json_response


class Inbox:
    """Thread-safe store of deliveries."""

    def __init__(self, inbox_file: str | Path | None = None):
        self.inbox_file = Path(inbox_file) if inbox_file else None
        self._deliveries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def deliveries(self, tag: str | None = None) -> list[dict[str, Any]]:
        """Copies of the stored deliveries, oldest first, optionally for one tag."""
        with self._lock:
            return [dict(d) for d in self._deliveries if tag is None or d["tag"] == tag]

    def receive(self, tag: str, payload: dict[str, Any]) -> dict[str, Any]:
        delivery = {"tag": tag, "title": payload.get("title", ""), "message": payload.get("message", ""),
                    "type": payload.get("type", "info"), "version": payload.get("version"),
                    "attachments": payload.get("attachments") or [],
                    "received_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        with self._lock:
            self._deliveries.append(delivery)
            if self.inbox_file is not None:
                self.inbox_file.parent.mkdir(parents=True, exist_ok=True)
                with self.inbox_file.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(delivery, ensure_ascii=False) + "\n")
        return delivery

    def handle(self, tag: str, req: Request) -> Response:
        """``tag`` is what follows ``/inbox/`` (empty for ``/inbox`` itself)."""
        if req.method in ("GET", "HEAD"):
            return json_response(self.deliveries(tag or None))
        if req.method != "POST" or not tag:
            return json_response({"error": "POST to /inbox/<tag>"}, 405)
        try:
            payload = json.loads(req.body or b"{}")
        except ValueError:
            return json_response({"error": "the body is not JSON"}, 400)
        if not isinstance(payload, dict):
            return json_response({"error": "expected a JSON object"}, 400)
        self.receive(tag, payload)
        return json_response({"ok": True})
