"""A local stand-in for Meta's Graph API: bearer-token checks, ``paging.next`` cursors, usage
headers, ``/debug_token``, ``?ids=`` reads and Graph's ``error{…}`` bodies.

Tests register nodes (``GET /{id}``) and edges (``GET /{id}/{edge}``) as plain dicts and
lists; the fake pages edges like Graph does (``limit``, an opaque ``after`` cursor and a
``paging.next`` URL that — like the real API when a token was sent in the query —
repeats ``access_token``, so the reader must strip it).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from urllib.parse import urlencode

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

VERSION = "/v26.0"
TOKEN = "EAAGm0PX4ZCpsBAKZCtoken-secret"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def graph_time(moment: datetime) -> str:
    """Graph's timestamp form: ``2026-03-02T09:41:12+0000``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def error_body(message: str, code: int, subcode: int | None = None, kind: str = "OAuthException") -> dict:
    error = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGhIjK"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


EXPIRED = error_body("Error validating access token: Session has expired on Monday, 02-Mar-26 04:00:00 PST.", 190, 463)
REVOKED = error_body("Error validating access token: The user has not authorized application 1234.", 190, 458)
INVALID = error_body("Invalid OAuth access token - Cannot parse access token", 190)
DELETED = error_body("Unsupported get request. Object with ID '1234' does not exist, cannot be loaded due to missing "
                     "permissions, or does not support this operation.", 100, 33, "GraphMethodException")
BLOCKED = error_body("It looks like you were misusing this feature by going too fast. You've been temporarily "
                     "blocked from using it.", 368, 1390008)
THROTTLED = error_body("(#4) Application request limit reached", 4, None, "OAuthException")
NO_MESSAGING = error_body("(#230) Requires pages_messaging permission to manage the object", 230)


class FakeGraph:
    """Graph API under ``/v26.0``; ``nodes`` and ``edges`` are what the tests put there."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.token = TOKEN
        self.nodes: dict[str, dict] = {}
        self.edges: dict[tuple[str, str], list[dict]] = {}
        self.errors: dict[str, list[tuple[int, dict]]] = {}
        """path → responses to give (status, body) before answering normally."""
        self.usage: dict[str, str] = {}
        self.token_data: dict | None = {"app_id": "1234", "type": "PAGE", "application": "Custodian", "is_valid": True,
                                        "expires_at": 1775000000, "data_access_expires_at": 1780000000,
                                        "scopes": ["pages_show_list", "pages_read_engagement",
                                                   "pages_read_user_content", "pages_messaging"]}
        server.expect_request(re.compile(f"^{VERSION}/.*")).respond_with_handler(self.handle)

    @property
    def base(self) -> str:
        return self.server.url_for(VERSION)

    def requests_to(self, suffix: str) -> list[Request]:
        return [request for request, _ in self.server.log if request.path.endswith(suffix)]

    def handle(self, request: Request) -> Response:
        path = request.path[len(VERSION):].strip("/")
        if self.errors.get(path):
            status, body = self.errors[path].pop(0)
            return self._json(body, status)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._json(INVALID, 400)
        if path == "debug_token":
            return self._debug_token(request)
        if path == "":
            return self._ids(request)
        parts = path.split("/")
        if len(parts) == 1:
            node = self.nodes.get(parts[0])
            return self._json(node) if node is not None else self._json(DELETED, 400)
        if (parts[0], parts[1]) not in self.edges:
            return self._json(DELETED, 400)
        return self._edge_page(request, self.edges[(parts[0], parts[1])])

    def _debug_token(self, request: Request) -> Response:
        if self.token_data is None:
            return self._json(error_body("(#100) You must provide an app access token, or a user access token "
                                         "that is an owner or developer of the app", 100), 400)
        assert request.args.get("input_token") == self.token
        return self._json({"data": self.token_data})

    def _ids(self, request: Request) -> Response:
        found = {}
        for node_id in request.args["ids"].split(","):
            if node_id not in self.nodes:
                return self._json(DELETED, 400)
            found[node_id] = self.nodes[node_id]
        return self._json(found)

    def _edge_page(self, request: Request, items: list[dict]) -> Response:
        since = request.args.get("since")
        if since is not None:
            items = [item for item in items if _created(item) >= datetime.fromtimestamp(int(since), UTC)]
        limit = int(request.args.get("limit", 25))
        start = int(base64.b64decode(request.args["after"]).decode()) if "after" in request.args else 0
        page = items[start:start + limit]
        body: dict = {"data": page}
        if page:
            cursors = {"before": _cursor(start), "after": _cursor(start + len(page))}
            body["paging"] = {"cursors": cursors}
            if start + limit < len(items):
                kept = [(k, v) for k, v in request.args.items(multi=True) if k != "after"]
                query = urlencode([*kept, ("access_token", self.token), ("after", cursors["after"])])
                body["paging"]["next"] = f"{request.base_url}?{query}"
        return self._json(body)

    def _json(self, body: object, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, headers=dict(self.usage), content_type="application/json")

    def on(self, path: str, *responses: tuple[int, dict]) -> None:
        """Give these (status, body) responses to the next requests for ``path`` (no version prefix)."""
        self.errors.setdefault(path, []).extend(responses)


def _cursor(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


def _created(item: dict) -> datetime:
    stamp = item.get("created_time") or item.get("timestamp")
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z")

