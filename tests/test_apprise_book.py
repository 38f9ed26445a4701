"""flows.apprise_book: a tag's URLs, instantiated on first use, are the ones apprise finds for it parsing the whole file."""

from __future__ import annotations

import apprise
import pytest
import yaml

from flows.apprise_book import read_book
from flows.postman import ApprisePostman

ENTRIES = [
    "json://127.0.0.1:9/plain",
    {"json://127.0.0.1:9/one": {"tag": "alpha"}},
    {"xml://127.0.0.1:9/two": [{"tag": "alpha, beta"}, {"tags": "gamma"}, "not a mapping"]},
    {"form://127.0.0.1:9/three": [{"tag": "Beta"}]},
    {"json://user:secret@127.0.0.1:9/four?+X-Extra=1": [{"tag": "delta", "tags": "ignored"}]},
    {"json://127.0.0.1:9/five": None},
    {"json://127.0.0.1:9/six": []},
    {"json://127.0.0.1:9/seven": {}},
    {"mailto://user:pass@example.gov?to=ops@example.gov": [{"tag": "epsilon always"}]},
    {"discord://12345/abcdef": {"tag": "alpha"}},
    {"json://127.0.0.1:9/eight": [{"tag": "zeta", "format": "markdown"}]},
    {"json://127.0.0.1:9/nine": [{"tag": "zeta", "+X-Team": "custodians"}]},
]
TAGS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "global", "nobody", "ALPHA"]


def _described(servers) -> list[tuple]:
    return sorted((type(s).__name__, s.url(privacy=False), tuple(sorted(str(t) for t in s.tags)),
                   tuple(sorted((getattr(s, "headers", None) or {}).items()))) for s in servers)


def _whole(document: dict):
    source = apprise.AppriseConfig()
    source.add_config(yaml.safe_dump(document), format="yaml")
    targets = apprise.Apprise()
    targets.add(source)
    return targets


@pytest.mark.parametrize("extra", [{}, {"tag": "global"}, {"asset": {"app_id": "Custodian"}}])
def test_a_tags_servers_are_those_apprise_finds_in_the_whole_file(extra):
    document = {"version": 1, **extra, "urls": ENTRIES}
    whole = _whole(document)
    book = read_book(yaml.safe_dump(document))
    assert book is not None
    for tag in TAGS:
        lazily = apprise.Apprise(servers=book.servers(tag, "always"))
        assert _described(lazily.find(tag)) == _described(whole.find(tag)), tag


def test_only_the_entries_of_the_tags_sent_to_are_instantiated():
    document = {"version": 1, "urls": [{f"json://127.0.0.1:9/{n}": {"tag": f"t{n}"}} for n in range(50)]
                + [{"json://127.0.0.1:9/all": {"tag": "always"}}]}
    book = read_book(yaml.safe_dump(document))
    servers = book.servers("t7", "always")
    assert sorted(s.url(privacy=False).split("?")[0] for s in servers) == ["json://127.0.0.1:9/7",
                                                                           "json://127.0.0.1:9/all"]
    assert sorted(book._servers) == [7, 50]
    assert book.servers("t7", "always")[0] is servers[0]  # instantiated once


@pytest.mark.parametrize("document", [
    {"version": 1, "include": ["other.yaml"], "urls": ["json://127.0.0.1:9/x"]},
    {"version": 1, "groups": {"team": "alpha"}, "urls": [{"json://127.0.0.1:9/x": {"tag": "alpha"}}]},
    {"version": 1, "urls": [{"json://127.0.0.1:9/x": {"tag": "a"}, "json://127.0.0.1:9/y": {"tag": "b"}}]},
    {"version": 1, "urls": [["json://127.0.0.1:9/x"]]},
])
def test_a_file_the_book_cannot_split_is_left_to_apprise_whole(document):
    assert read_book(yaml.safe_dump(document)) is None


def test_the_postman_finds_a_files_urls_by_tag_through_the_book_or_whole(tmp_path):
    split = tmp_path / "split.yaml"
    split.write_text(yaml.safe_dump({"version": 1, "urls": ENTRIES}))
    whole = tmp_path / "whole.yaml"
    whole.write_text(yaml.safe_dump({"version": 1, "groups": {"team": "alpha"}, "urls": ENTRIES}))
    for path in (split, whole):
        postman = ApprisePostman(path)
        expected = _whole(yaml.safe_load(path.read_text()))
        for tag in TAGS:
            assert _described(postman._targets_for(tag).find(tag)) == _described(expected.find(tag)), (path, tag)
        assert postman.deduplicates("alpha") is False  # discord:// carries alpha and takes no header
        assert postman.deduplicates("gamma") is True
