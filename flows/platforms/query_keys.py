"""An API key sent in the query string (YouTube ``key=``, Flickr ``api_key=``) kept out of records and logs.

Contract: :class:`QueryKey` replaces the key's query value, and the key itself wherever it stands,
by ``[redacted]`` in text and in FetchError records; :meth:`QueryKey.redact_url_logs` makes
urllib3's loggers (which write request URLs) do the same, once per key pattern.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace

from flows.records import FetchError, Record, Target

URL_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager")
"""The loggers that write request URLs (a filter applies only to records of its own logger)."""


class QueryKey:
    """One platform's query parameter that carries its key; ``pattern`` captures ``<name>=`` as group 1."""

    def __init__(self, pattern: str, marker: str) -> None:
        self.param = re.compile(pattern)
        self.marker = marker
        """Text that every URL carrying the key contains (a cheap test before the regex)."""

    def strip(self, text: str, key: str | None) -> str:
        """``text`` with every query value of the parameter, and the key itself, replaced."""
        text = self.param.sub(r"\1[redacted]", text)
        return text.replace(key, "[redacted]") if key else text

    def scrubbed(self, record: Record, key: str | None) -> Record:
        """A FetchError with the key gone from its URL and message; any other record as it is."""
        if isinstance(record, FetchError):
            return replace(record, url=self.strip(record.url, key), message=self.strip(record.message, key))
        return record

    def guarded(self, target: Target, records: Iterable[Record]) -> Iterator[Record]:
        """``records`` with the key scrubbed from every FetchError; a reader that crashes becomes one
        FetchError for the account, scrubbed too (its message could carry the key)."""
        try:
            for record in records:
                yield self.scrubbed(record, target.token)
        except Exception as exc:  # noqa: BLE001 - the account's error boundary
            yield self.scrubbed(FetchError(target.account_id, target.api_base, None,
                                           f"reader crashed: {type(exc).__name__}: {exc}"), target.token)

    def redact_url_logs(self) -> None:
        """Filter urllib3's URL-writing loggers (idempotent: one filter per pattern)."""
        for name in URL_LOGGERS:
            logger = logging.getLogger(name)
            if not any(isinstance(f, _Redact) and f.key is self for f in logger.filters):
                logger.addFilter(_Redact(self))


class _Redact(logging.Filter):
    def __init__(self, key: QueryKey) -> None:
        super().__init__()
        self.key = key

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.key.marker in message:
            record.msg, record.args = self.key.param.sub(r"\1[redacted]", message), ()
        return True
