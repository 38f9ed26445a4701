"""apprise's URLs by tag, each entry of ``apprise.yaml`` instantiated the first time a message goes to one of its tags.

Contract: :func:`read_book` loads the (``${ENV}``-expanded) YAML text once — a YAML load, no
apprise object — and says which ``urls`` entries carry which tag, read as apprise reads them:
an option mapping's ``tag`` (else ``tags``), split by apprise's own ``parse_list``, plus the
file's global ``tag``; tags compared lower-cased. :meth:`UrlBook.servers` gives the apprise
server objects of the entries carrying a tag or ``always``, instantiating each entry once, by
apprise's own YAML parser, from a document holding that entry alone beside the file's other
top-level keys (``version``, ``tag``, ``asset``): every option means what it means in the
whole file. apprise's matching at send time stays the authority on who gets a message.
A file this reading cannot split (``include``, ``groups``, an entry of a shape the config
check refuses) gives None: the caller lets apprise parse it whole, as before.

Why: apprise instantiated every URL up front, ~1–2 ms each (its YAML load, then a deep copy of
the plugin's template per URL). At 10,000 accounts that was 19,533 URLs, 20–36 s of CPU on a
thread beside the collection (which it slowed), and the notify room waited for what was left;
a run now instantiates only the URLs it sends to (none when nothing is due).
"""

from __future__ import annotations

import threading
from collections import defaultdict

import yaml

SPLITTABLE_KEYS = frozenset(("version", "urls", "tag", "tags", "asset"))
"""Top-level keys a one-entry document can carry unchanged; any other makes the file parsed whole."""


class UrlBook:
    """The entries of one ``apprise.yaml`` and the tags each carries; see the module contract."""

    def __init__(self, document: dict, by_tag: dict[str, list[int]]):
        self._document = document
        self._by_tag = by_tag
        self._servers: dict[int, list] = {}
        self._lock = threading.Lock()
        self._asset = None  # the one AppriseAsset of every entry instantiated without the YAML parser

    def servers(self, tag: str, always: str) -> list:
        """apprise server objects of every entry carrying ``tag`` or ``always``, in file order."""
        wanted = sorted(set(self._by_tag.get(tag.lower(), ())) | set(self._by_tag.get(always.lower(), ())))
        with self._lock:  # one thread instantiates an entry; the others wait for its objects
            return [server for index in wanted for server in self._instantiated(index)]

    def _instantiated(self, index: int) -> list:
        if index not in self._servers:
            servers = self._tags_only(index)
            self._servers[index] = self._by_apprise_yaml(index) if servers is None else servers
        return self._servers[index]

    def _tags_only(self, index: int) -> list | None:
        """An entry whose options set nothing but tags, in a file without ``asset``: one
        ``Apprise.instantiate`` per option mapping (~0.2 ms a URL, against ~1.9 ms through the
        YAML parser, which deep-copies the plugin's template for every option mapping); the
        same objects (tests/test_apprise_book.py compares them). None for any other entry."""
        if "asset" in self._document:
            return None
        url, option_sets = _url_and_options(self._document["urls"][index])
        if url is None or any(set(options) - {"tag", "tags"} for options in option_sets):
            return None
        import apprise

        shared = _tags(self._document.get("tag", self._document.get("tags")))
        if self._asset is None:
            self._asset = apprise.AppriseAsset()
        servers = []
        for options in option_sets:
            tags = _tags(options.get("tag", options.get("tags"))) | shared
            server = apprise.Apprise.instantiate(url, asset=self._asset, tag=sorted(tags), suppress_exceptions=True)
            if server is None:
                return None  # apprise's YAML parser says why, in its own words
            servers.append(server)
        return servers

    def _by_apprise_yaml(self, index: int) -> list:
        import apprise

        alone = {key: value for key, value in self._document.items() if key != "urls"}
        alone["urls"] = [self._document["urls"][index]]
        source = apprise.AppriseConfig()
        # A fresh text each time: apprise's parser edits the mappings it reads.
        source.add_config(yaml.dump(alone, Dumper=_DUMPER, allow_unicode=True), format="yaml")
        targets = apprise.Apprise()
        targets.add(source)
        return list(targets.find(apprise.common.MATCH_ALL_TAG))


def read_book(text: str) -> UrlBook | None:
    """The book of an expanded ``apprise.yaml`` text, or None when it must be parsed whole."""
    try:
        document = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("urls"), list) or set(document) - SPLITTABLE_KEYS:
        return None
    shared = _tags(document.get("tag", document.get("tags")))
    by_tag: dict[str, list[int]] = defaultdict(list)
    for index, entry in enumerate(document["urls"]):
        url, option_sets = _url_and_options(entry)
        if url is None:
            return None
        tags = shared.union(*(_tags(o.get("tag", o.get("tags"))) for o in option_sets))
        for tag in {t.lower() for t in tags}:
            by_tag[tag].append(index)
    return UrlBook(document, dict(by_tag))


def _url_and_options(entry) -> tuple[str | None, list[dict]]:
    """``(url, [option mapping])`` of one ``urls`` entry as apprise's YAML parser expands it: a
    plain URL or ``{url: None | scalar | {}}`` is one server with no options, ``{url: {...}}``
    one, ``{url: [{...}, ...]}`` one per mapping (other items skipped); url None for any other shape."""
    if isinstance(entry, str):
        return entry, [{}]
    if not (isinstance(entry, dict) and len(entry) == 1 and isinstance(next(iter(entry)), str)):
        return None, []
    url, options = next(iter(entry.items()))
    if isinstance(options, dict):
        return url, [options]
    if isinstance(options, (list, tuple)):
        return url, [o for o in options if isinstance(o, dict)]
    return url, [{}]


def _tags(value) -> set[str]:
    from apprise.utils.parse import parse_list

    return set(parse_list(value, cast=str))


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
