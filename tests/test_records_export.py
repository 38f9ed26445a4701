"""Own posts as records: every version kept, and an export that verifies against its manifest."""

import csv
import json

from typer.testing import CliRunner

from flows.cli import app
from flows.export import direction, verify
from flows.records import Post
from tests.conftest import NOW, account_entry, ago

ARABIC = "افتتاح المركز الصحي الجديد في ولاية السيب"
HOSTILE = 'Clinic hours <script>alert("x")</script> & more'


def archived(warehouse):
    """Two runs: the second sees p1 edited and p2 unchanged."""
    warehouse.configure([account_entry("acct")])
    url = "https://social.example.gov/@acct/p1"
    warehouse.run({"acct": ("ok", [Post("acct", "p1", ago(3), url=url, text=ARABIC),
                                   Post("acct", "p2", ago(2), text=HOSTILE)])}, now=ago(2))
    warehouse.run({"acct": ("ok", [Post("acct", "p1", ago(3), url=url, text=ARABIC + " (محدث)"),
                                   Post("acct", "p2", ago(2), text=HOSTILE)])}, now=NOW)


def test_an_edit_is_a_new_version_and_nothing_is_overwritten(warehouse):
    archived(warehouse)
    versions = warehouse.rows("SELECT post_id, version, text, seen_at FROM post_versions ORDER BY post_id, version")
    assert [(p, v, t) for p, v, t, _ in versions] == [("p1", 1, ARABIC), ("p1", 2, ARABIC + " (محدث)"), ("p2", 1, HOSTILE)]
    assert versions[0][3] == ago(2) and versions[1][3] == NOW
    assert warehouse.rows("SELECT text FROM posts WHERE post_id = 'p1'") == [(ARABIC + " (محدث)",)]
    hashes = warehouse.rows("SELECT content_hash FROM post_versions WHERE post_id = 'p1' ORDER BY version")
    assert len({h for (h,) in hashes}) == 2 and all(len(h) == 64 for (h,) in hashes)
    assert warehouse.rows("SELECT content_hash FROM posts WHERE post_id = 'p1'") == [hashes[1]]


def test_the_export_verifies_against_its_manifest_and_shows_both_versions(warehouse, tmp_path):
    archived(warehouse)
    warehouse.con.close()  # the CLI opens the file read-only
    out = tmp_path / "export"
    result = CliRunner().invoke(app, ["records", "export", "--account", "acct", "--from", "2026-11-01",
                                      "--to", "2026-11-30", "--out", str(out), "--db", str(tmp_path / "test.duckdb")])
    assert result.exit_code == 0, result.output
    folder = out / "acct"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert {f["name"] for f in manifest["files"]} == {"posts.jsonl", "posts.csv", "transcript.html"}
    assert (manifest["posts"], manifest["versions"]) == (2, 3) and verify(folder) == []

    lines = [json.loads(line) for line in (folder / "posts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["post_id"], r["version"]) for r in lines] == [("p1", 1), ("p1", 2), ("p2", 1)]
    with (folder / "posts.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert [r["text"] for r in csv.DictReader(handle)] == [ARABIC, ARABIC + " (محدث)", HOSTILE]

    page = (folder / "transcript.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count('dir="rtl"') == 2 and page.count('dir="ltr"') == 1
    assert "(Asia/Muscat)" in page

    assert CliRunner().invoke(app, ["records", "verify", str(folder)]).exit_code == 0
    (folder / "posts.csv").write_text("tampered", encoding="utf-8")
    assert verify(folder) == ["posts.csv"]
    tampered = CliRunner().invoke(app, ["records", "verify", str(folder)])
    assert tampered.exit_code == 1 and "posts.csv" in tampered.output


def test_the_export_period_and_the_choice_of_accounts(warehouse, tmp_path):
    archived(warehouse)
    warehouse.con.close()
    db = ["--db", str(tmp_path / "test.duckdb")]
    runner = CliRunner()
    result = runner.invoke(app, ["records", "export", "--agency", "moh", "--from", "2026-12-01", "--to", "2026-12-31",
                                 "--out", str(tmp_path / "later"), *db])
    assert result.exit_code == 0 and json.loads((tmp_path / "later/acct/manifest.json").read_text())["versions"] == 0
    both = runner.invoke(app, ["records", "export", "--agency", "moh", "--account", "acct", "--from", "2026-11-01",
                               "--to", "2026-11-30", "--out", str(tmp_path / "x"), *db])
    assert both.exit_code == 2
    unknown = runner.invoke(app, ["records", "export", "--account", "nobody", "--from", "2026-11-01",
                                  "--to", "2026-11-30", "--out", str(tmp_path / "x"), *db])
    assert unknown.exit_code == 1


def test_text_direction_follows_the_script():
    assert direction("مرحبا بكم in Muscat") == "rtl"
    assert direction("Welcome to مسقط") == "ltr"
    assert direction(None) == "ltr"


def test_links_and_media_are_kept_per_version_and_exported(warehouse, tmp_path):
    from datetime import date

    from flows.export import export_account
    from flows.warehouse.versions import HASHED, content_hash

    warehouse.configure([account_entry("acct")])
    photo, page = "https://files.example/1.png", 'https://moh.example/a?x="<b>"'
    plain = Post("acct", "p0", ago(3), text="no links")
    warehouse.run({"acct": ("ok", [plain, Post("acct", "p1", ago(2), text="pic", media_urls=(photo,))])}, now=ago(2))
    warehouse.run({"acct": ("ok", [plain, Post("acct", "p1", ago(2), text="pic", media_urls=(photo,),
                                               links=(page,))])}, now=NOW)  # a link added: a new version
    rows = warehouse.rows("SELECT post_id, version, links, media_urls FROM post_versions ORDER BY post_id, version")
    assert rows == [("p0", 1, [], []), ("p1", 1, [], [photo]), ("p1", 2, [page], [photo])]
    assert warehouse.rows("SELECT links, media_urls FROM posts WHERE post_id = 'p1'") == [([page], [photo])]
    # A post without links or media keeps the hash it had before they were archived: no spurious version.
    before = {k: getattr(plain, k) for k in HASHED}
    [(stored,)] = warehouse.rows("SELECT content_hash FROM posts WHERE post_id = 'p0'")
    assert stored == content_hash({**before, "links": [], "media_urls": []}) == content_hash(before)

    folder = export_account(warehouse.con, "acct", date(2026, 11, 1), date(2026, 11, 30), tmp_path / "out").folder
    lines = [json.loads(line) for line in (folder / "posts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["links"], r["media_urls"]) for r in lines if r["post_id"] == "p1"] == [([], [photo]), ([page], [photo])]
    with (folder / "posts.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert [r["media_urls"] for r in csv.DictReader(handle)] == ["", photo, photo]
    transcript = (folder / "transcript.html").read_text(encoding="utf-8")
    assert "&quot;&lt;b&gt;&quot;" in transcript and "<b>" not in transcript


def test_personal_data_in_a_link_is_masked_and_counted(warehouse):
    warehouse.configure([account_entry("acct")])
    warehouse.run({"acct": ("ok", [Post("acct", "p1", ago(1), text="Write to us",
                                        links=("https://forms.example/?reply=salim.k@example.com",))])})
    assert warehouse.rows("SELECT links, personal_data_kinds FROM posts") == [(["https://forms.example/?reply=[email]"], ["email"])]
    assert "salim" not in str(warehouse.rows("SELECT * FROM post_versions"))
