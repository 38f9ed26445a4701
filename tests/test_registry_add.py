"""custodian registry add: an account of every simulated platform registered from its URL, the
entry accepted by validate and collected by a run, the file's comments kept; duplicates in any
spelling, unreachable and unknown accounts refused with the URL named; a dry run writes nothing."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app
from flows.platforms import PLATFORMS, get_platform
from flows.profile_url import parse_profile_url
from flows.registry_add.resolve import claims
from flows.simulator import Simulator, generate
from flows.simulator.platforms import FAKE_PLATFORMS
from tests.conftest import run_monitor

runner = CliRunner()
READABLE = ("healthy", "slow", "stale", "unanswered")
HEADER = """# The registry of official accounts; edited by hand and by `custodian registry add`.
# Tokens never live here.
agencies:
"""


def public_url(entry: dict) -> str:
    """The address a person would paste: the simulator's own, except where the platform's public
    profile lives on its own host (the look-up then goes to --api-base, the simulator)."""
    url = entry["url"]
    if entry["platform"] == "facebook":
        return f"https://www.facebook.com/page{entry['handle'][-6:]}"  # the Page's username, not its id
    if entry["platform"] == "instagram":
        return f"https://www.instagram.com/{url.rstrip('/').rsplit('/', 1)[1]}/"
    if entry["platform"] == "feed" and entry.get("comments_url"):
        return url.removesuffix(".xml") + ".html"  # the blog's page, announcing its feeds
    return url


def a_post_of(sim: Simulator, entry: dict) -> str:
    """The address of one of a WordPress site's posts: its page names the site's REST API root."""
    site = next(s for s in sim.platforms["wordpress"].sites.values() if s.registry_id == entry["id"])
    return site.link(site.posts[-1])


def add_args(entry: dict, url: str, config_dir: Path, base_url: str) -> list[str]:
    args = ["registry", "add", url, "--agency", entry["agency"], "--custodians", ",".join(entry["custodians"]),
            "--engagement", entry["engagement"], "--config", str(config_dir)]
    if not url.startswith(base_url):
        args += ["--api-base", entry["api_base"]]
    credential = get_platform(entry["platform"]).credential
    if credential is not None and credential.required:
        args += ["--token-env", entry["token_env"]]
    return args


def write_config(directory: Path, registry: dict, apprise: dict, kept: list[dict]) -> Path:
    """A hand-written-looking accounts.yaml: comments above and beside entries, the house indentation."""
    directory.mkdir(parents=True, exist_ok=True)
    agencies = yaml.safe_dump(registry["agencies"], allow_unicode=True, sort_keys=False)
    accounts = yaml.safe_dump(kept, allow_unicode=True, sort_keys=False)
    text = (HEADER + "".join(f"  {line}\n" for line in agencies.splitlines())
            + "\naccounts:\n  # kept by hand: a Mastodon account of the simulated government\n"
            + "".join(f"  {line}\n" for line in accounts.splitlines()).rstrip("\n") + "   # a comment beside a value\n")
    (directory / "accounts.yaml").write_text(text, encoding="utf-8")
    (directory / "apprise.yaml").write_text(yaml.safe_dump(apprise), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def registered(prefect_harness, tmp_path_factory):
    """Every simulated platform's first readable account added from its URL, then one run."""
    government = generate(accounts=60, seed=7, platforms="all")
    behaviours = government.behaviours()
    with Simulator(government) as sim:
        registry = sim.registry()
        chosen = {}
        for entry in registry["accounts"]:
            if behaviours[entry["id"]] in READABLE:
                chosen.setdefault(entry["platform"], entry)
        kept = next(e for e in registry["accounts"] if e["platform"] == "mastodon" and e is not chosen["mastodon"])
        config_dir = write_config(tmp_path_factory.mktemp("registry-add") / "config", registry,
                                  sim.apprise_config(), [kept])
        original = (config_dir / "accounts.yaml").read_text(encoding="utf-8")
        os.environ.update(government.tokens())
        pasted = {name: a_post_of(sim, entry) if name == "wordpress" else public_url(entry)
                  for name, entry in chosen.items()}
        results = {name: runner.invoke(app, add_args(entry, pasted[name], config_dir, sim.base_url))
                   for name, entry in chosen.items()}
        db = config_dir.parent / "custodian.duckdb"
        summary = run_monitor(config_dir=str(config_dir), db=str(db), batch_size=6)
        yield {"sim": sim, "config": config_dir, "original": original, "chosen": chosen, "results": results,
               "summary": summary, "db": db, "kept": kept, "registry": registry, "behaviours": behaviours}


def accounts(config_dir: Path) -> dict[str, dict]:
    data = yaml.safe_load((config_dir / "accounts.yaml").read_text(encoding="utf-8"))
    return {entry["id"]: entry for entry in data["accounts"]}


def test_an_account_of_every_simulated_platform_is_added_with_what_its_platform_said(registered):
    assert set(registered["chosen"]) == set(FAKE_PLATFORMS) == set(PLATFORMS)
    for platform, result in registered["results"].items():
        assert result.exit_code == 0, (platform, result.output)
        assert "added " in result.output
    added = {entry["platform"]: entry for entry in accounts(registered["config"]).values()
             if entry["id"] != registered["kept"]["id"]}
    assert set(added) == set(PLATFORMS)
    for platform, entry in added.items():
        expected = registered["chosen"][platform]
        assert (entry["agency"], entry["custodians"], entry["engagement"]) == \
            (expected["agency"], expected["custodians"], expected["engagement"])
        if "handle" in expected:  # the stable ids the platform gave: Page id, channel id, NSID…
            assert str(entry["handle"]).replace("_", " ") == str(expected["handle"]).replace("_", " "), platform
        assert entry["api_base"] == expected["api_base"], platform
    assert added["feed"]["comments_url"] == registered["chosen"]["feed"]["comments_url"]  # from the page's <link>
    assert added["wordpress"]["staff_ids"]  # the site's users with published posts
    assert added["wordpress"]["url"] == registered["chosen"]["wordpress"]["url"]  # the site, found from a post


def test_the_file_keeps_its_comments_and_order_and_validates(registered):
    text = (registered["config"] / "accounts.yaml").read_text(encoding="utf-8")
    assert text.startswith(registered["original"].rstrip("\n"))  # every byte before the new entries unchanged
    assert text.count("— added by custodian registry add on") == len(PLATFORMS)
    assert "# user id" in text and "# the channel id of" in text  # the ids behind the handles, in comments
    result = runner.invoke(app, ["validate", "--config", str(registered["config"])])
    assert result.exit_code == 0, result.output


def test_the_run_collects_every_added_account(registered):
    added = [i for i in accounts(registered["config"]) if i != registered["kept"]["id"]]
    con = duckdb.connect(str(registered["db"]), read_only=True)
    try:
        statuses = dict(con.execute("SELECT account_id, status FROM account_runs WHERE run_id = ?",
                                    [registered["summary"]["run_id"]]).fetchall())
        with_posts = {row[0] for row in con.execute("SELECT DISTINCT account_id FROM posts").fetchall()}
    finally:
        con.close()
    assert {account: statuses.get(account) for account in added} == {account: "ok" for account in added}
    assert set(added) <= with_posts


SPELLINGS = {"upper case": str.upper, "no scheme, a trailing slash": lambda url: url.split("://", 1)[1] + "/",
             "a share parameter": lambda url: url + "?utm_source=share#top",
             "another Mastodon form": lambda url: url.replace("/@", "/users/")}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_registered_account_is_refused_in_any_spelling_naming_the_entry(registered, spelling):
    before = (registered["config"] / "accounts.yaml").read_bytes()
    entry = registered["chosen"]["mastodon"]
    added_id = next(i for i, e in accounts(registered["config"]).items()
                    if e["platform"] == "mastodon" and e["handle"] == entry["handle"])
    url = SPELLINGS[spelling](public_url(entry))
    result = runner.invoke(app, add_args(entry, url, registered["config"], registered["sim"].base_url))
    assert result.exit_code == 1, result.output
    assert f"already registered as {added_id} " in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert (registered["config"] / "accounts.yaml").read_bytes() == before


def test_the_same_feed_reached_by_another_address_is_refused(registered):
    entry = registered["chosen"]["feed"]
    added_id = next(i for i, e in accounts(registered["config"]).items() if e["platform"] == "feed")
    result = runner.invoke(app, add_args(entry, entry["url"], registered["config"], registered["sim"].base_url))
    assert result.exit_code == 1 and f"already registered as {added_id}" in result.output, result.output


def test_a_dry_run_prints_the_entry_and_writes_nothing(registered):
    before = (registered["config"] / "accounts.yaml").read_bytes()
    entry = next(e for e in registered["registry"]["accounts"] if e["platform"] == "discourse"
                 and e is not registered["chosen"]["discourse"] and registered["behaviours"][e["id"]] in READABLE)
    result = runner.invoke(app, [*add_args(entry, entry["url"], registered["config"], registered["sim"].base_url),
                                 "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"handle: {entry['handle']}" in result.output and "platform: discourse" in result.output
    assert "dry run, not written" in result.output
    assert (registered["config"] / "accounts.yaml").read_bytes() == before


def test_an_unreachable_or_unknown_account_is_refused_with_the_url_named(registered):
    before = (registered["config"] / "accounts.yaml").read_bytes()
    entry = registered["chosen"]["mastodon"]
    deleted = next(e for e in registered["registry"]["accounts"] if e["platform"] == "mastodon"
                   and registered["behaviours"][e["id"]] in ("deleted", "gone"))
    closed = "http://127.0.0.1:9/@nobody"  # the discard port: nothing listens there
    for url in (closed, deleted["url"]):
        result = runner.invoke(app, add_args(entry, url, registered["config"], registered["sim"].base_url))
        assert result.exit_code == 1, result.output
        assert url in result.output and "could not be looked up" in result.output
    assert (registered["config"] / "accounts.yaml").read_bytes() == before


def test_a_rejected_key_is_refused_without_showing_the_key(registered, monkeypatch):
    entry = registered["chosen"]["youtube"]
    monkeypatch.setenv("WRONG_YOUTUBE_KEY", "sim-not-a-key-0123456789")
    args = add_args(entry, "https://www.youtube.com/@someone-else", registered["config"], registered["sim"].base_url)
    result = runner.invoke(app, [*args[:-2], "--token-env", "WRONG_YOUTUBE_KEY"])
    assert result.exit_code == 1, result.output
    assert "sim-not-a-key" not in result.output and "youtube" in result.output


def test_a_platform_that_needs_a_token_says_so_before_asking(registered):
    entry = registered["chosen"]["x"]
    args = add_args(entry, entry["url"].replace(entry["handle"], "someone_new"), registered["config"],
                    registered["sim"].base_url)
    result = runner.invoke(app, args[:args.index("--token-env")])
    assert result.exit_code == 2 and "--token-env" in result.output, result.output


def test_an_unknown_agency_or_a_non_url_is_a_usage_error(registered):
    entry = registered["chosen"]["mastodon"]
    args = add_args(entry, "http://127.0.0.1:9/@new", registered["config"], registered["sim"].base_url)
    wrong_agency = [*args[:4], "no-such-agency", *args[5:]]
    assert runner.invoke(app, wrong_agency).exit_code == 2
    assert runner.invoke(app, [*args[:2], "javascript:alert(1)", *args[3:]]).exit_code == 2


@pytest.mark.parametrize(("url", "platform", "name"), [
    ("https://mobile.twitter.com/MOH_Oman?s=20", "x", "MOH_Oman"),
    ("x.com/@moh_oman", "x", "moh_oman"),
    ("https://www.youtube.com/@moh", "youtube", "@moh"),  # a host beats Mastodon's /@name path shape
    ("https://youtube.com/channel/UCabcdefghijklmnopqrstuv/videos", "youtube", "channel/UCabcdefghijklmnopqrstuv"),
    ("https://m.facebook.com/profile.php?id=100012345678901", "facebook", "100012345678901"),
    ("https://www.instagram.com/MOH_Oman/", "instagram", "moh_oman"),
    ("bsky.app/profile/moh.gov.om", "bluesky", "moh.gov.om"),
    ("https://www.flickr.com/people/mohoman/", "flickr", "mohoman"),
    ("https://mastodon.social/@health@social.example.gov", "mastodon", "health"),
    ("https://social.example.gov/users/health", "mastodon", "health"),
    ("https://en.wikipedia.org/wiki/User:Example_user", "mediawiki", "Example user"),
    ("https://forum.example.gov/community/u/moh/summary", "discourse", "moh"),
    ("https://blog.example.gov/", "wordpress", "https://blog.example.gov"),
])
def test_each_platform_reads_its_own_profile_urls(url, platform, name):
    found = claims(parse_profile_url(url))
    assert (found[0][0].name, found[0][1].name) == (platform, name)


def test_a_remote_mastodon_profile_is_looked_up_at_its_home_instance():
    _, ref = claims(parse_profile_url("https://mastodon.social/@health@social.example.gov"))[0]
    assert (ref.api_base, ref.url) == ("https://social.example.gov", "https://social.example.gov/@health")


@pytest.mark.parametrize("text", [
    "# hand-written\nagencies:\n  - id: moh\n    notify:\n    - a   # mixed list styles\n"
    "accounts:\n  - id: one\n    custodians: [a]\n",
    "agencies:\n- id: moh\naccounts: []   # none yet\n",
    "accounts:\n- id: one\n  custodians: [a]\n\n# the agencies come last here\nagencies:\n- id: moh\n",
])
def test_the_entry_goes_last_under_accounts_and_every_other_line_stays(text):
    from datetime import date

    from flows.registry_add.entry import appended, new_entry

    entry, notes = new_entry("moh-x", "moh", "x", {"handle": "moh_om"}, {"handle": "user id 7"}, ["a"], "active",
                             None, date(2026, 11, 29))
    result = appended(text, entry, notes, "وزارة الصحة", date(2026, 11, 29))
    data = yaml.safe_load(result)
    assert data["accounts"][-1]["id"] == "moh-x" and data["accounts"][-1]["handle"] == "moh_om"
    assert [e["id"] for e in data["accounts"][:-1]] == [e["id"] for e in yaml.safe_load(text)["accounts"] or []]
    lines = result.splitlines()
    start = next(i for i, line in enumerate(lines) if "added by custodian registry add" in line)
    end = next(i for i in range(start, len(lines)) if "reviewed:" in lines[i]) + 1
    without_entry = [line for line in lines[:start] + lines[end:] if line.strip()]
    assert without_entry == [line for line in text.replace("accounts: []", "accounts:").splitlines() if line.strip()]
    assert "# وزارة الصحة — added by custodian registry add on 2026-11-29" in result


def test_a_token_for_a_platform_that_takes_none_is_a_usage_error(registered, monkeypatch):
    entry = next(e for e in registered["registry"]["accounts"] if e["platform"] == "feed"
                 and e is not registered["chosen"]["feed"] and registered["behaviours"][e["id"]] in READABLE)
    monkeypatch.setenv("SOME_FEED_TOKEN", "sim-feed-token-0123")
    args = add_args(entry, entry["url"], registered["config"], registered["sim"].base_url)
    result = runner.invoke(app, [*args, "--token-env", "SOME_FEED_TOKEN"])
    assert result.exit_code == 2 and "takes no token" in result.output, result.output
