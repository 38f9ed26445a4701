"""The configuration corpus: malformed cases, each with the error text it must produce, and
cases that must be accepted. Shared by tests/test_config_corpus.py and bench/config_bench.py.

A case edits a small valid configuration (BASE_*): ``file`` is the file it changes, ``edit``
is ``(old, new)`` (one replacement), a whole new text, bytes, or a special kind
(``fifo``, ``directory``, ``huge``). ``expect`` are fragments that ONE reported problem line
must all contain: the file with its line where there is one, and the field.
"""

from __future__ import annotations

BASE_ACCOUNTS = """\
agencies:
  - id: moh
    name: Ministry of Health / وزارة الصحة
    notify: [moh-comms]
accounts:
  - id: moh-blog
    agency: moh
    platform: wordpress
    api_base: https://blog.health.example.gov
    custodians: [moh-web]
    engagement: active
  - id: moh-social
    agency: moh
    platform: mastodon
    handle: health
    api_base: https://social.example.gov
    custodians: [moh-social]
    engagement: engaged
    token_env: MOH_TOKEN
"""

BASE_POLICY = """\
window_days: 30
staleness:
  levels:
    active: {warn_days: 7, critical_days: 14}
response_time:
  sla_hours: 24
unanswered:
  warn_hours: 48
  critical_hours: 168
notify:
  repeat_hours: 24
"""

BASE_APPRISE = """\
version: 1
urls:
  - json://hooks.example.gov/moh:
      - tag: moh-web, moh-social, moh-comms, oversight
"""

A, P, N = "accounts.yaml", "policy.yaml", "apprise.yaml"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))

MALFORMED: list[tuple[str, str, object, tuple[str, ...]]] = [
    # --- files that are not readable configuration ---
    ("accounts missing", A, "delete", ("accounts.yaml: file not found",)),
    ("apprise missing", N, "delete", ("apprise.yaml: file not found",)),
    ("accounts is a directory", A, "directory", ("accounts.yaml: is a directory",)),
    ("policy is a directory", P, "directory", ("policy.yaml: is a directory",)),
    ("accounts is a FIFO", A, "fifo", ("accounts.yaml: is a pipe",)),
    ("apprise is a FIFO", N, "fifo", ("apprise.yaml: is a pipe",)),
    ("accounts of 50 MB", A, "huge", ("accounts.yaml: is 52,428,800 bytes",)),
    ("latin-1 bytes", A, BASE_ACCOUNTS.encode("utf-8").replace(b"Ministry", b"Minist\xe8re"), ("accounts.yaml:3", "not UTF-8")),
    ("UTF-16 file", P, BASE_POLICY.encode("utf-16"), ("policy.yaml:1", "not UTF-8")),
    ("NUL byte", A, ("    name: Ministry", "    name: Min\x00istry"), ("accounts.yaml:3", "control character")),
    # --- YAML that is not YAML, reworded for people ---
    ("indented too far", A, ("    agency: moh\n    platform: wordpress", "    agency: moh\n      platform: wordpress"),
     ("accounts.yaml:8", "not valid YAML")),
    ("list item out of line", A, ("  - id: moh-social", "   - id: moh-social"), ("accounts.yaml:12", "indented more")),
    ("tab indentation", P, ("  sla_hours: 24", "\tsla_hours: 24"), ("policy.yaml:6", "tab")),
    ("unclosed list", A, ("custodians: [moh-web]", "custodians: [moh-web"), ("accounts.yaml:10", "not closed with ']'")),
    ("unclosed mapping", P, ("active: {warn_days: 7, critical_days: 14}", "active: {warn_days: 7, critical_days: 14"),
     ("policy.yaml:4", "not closed with '}'")),
    ("unclosed quote", A, ("name: Ministry of Health", "name: \"Ministry of Health"), ("accounts.yaml:3", "quote")),
    ("colon in plain value", A, ("handle: health", "handle: health: oops"), ("accounts.yaml:15", "':'")),
    ("undefined alias", A, ("custodians: [moh-web]", "custodians: *nobody"), ("accounts.yaml:10", "anchor")),
    ("python tag", A, ("handle: health", "handle: !!python/object:os.system x"), ("accounts.yaml:15", "tag")),
    # --- hostile structure: refused quickly, no hang, no RecursionError ---
    ("alias bomb", A, BOMB, ("accounts.yaml:", "alias")),
    ("10,000-deep list", A, "agencies: " + "[" * 10_000 + "]" * 10_000 + "\n", ("accounts.yaml:1", "nested more than")),
    ("10,000-deep mapping", P, "window_days: " + "{k: " * 10_000 + "1" + "}" * 10_000 + "\n", ("policy.yaml:1", "nested more than")),
    ("40-deep block mapping", P, "".join(f"{'  ' * i}k{i}:\n" for i in range(40)) + "  " * 40 + "x: 1\n", ("policy.yaml:", "nested more than")),
    ("100,000-digit number", P, "window_days: " + "9" * 100_000 + "\n", ("policy.yaml:1", "digits")),
    ("duplicate key in an entry", A, ("    agency: moh\n    platform: wordpress", "    agency: moh\n    agency: moh\n    platform: wordpress"),
     ("accounts.yaml:8", "key 'agency' appears twice")),
    ("second top-level accounts", A, BASE_ACCOUNTS + "accounts:\n  - id: extra\n", ("accounts.yaml:20", "key 'accounts' appears twice")),
    ("duplicate key in policy", P, BASE_POLICY + "window_days: 60\n", ("policy.yaml:12", "key 'window_days' appears twice")),
    ("duplicate key in apprise", N, BASE_APPRISE + "version: 2\n", ("apprise.yaml:5", "key 'version' appears twice")),
    ("top level is a list", A, "- id: moh\n", ("accounts.yaml:1", "expected a mapping")),
    # --- unknown keys, with the nearest known key suggested ---
    ("misspelt account key", A, ("    engagement: active", "    engagment: active"), ("accounts.yaml:11", "field 'engagment'", "did you mean 'engagement'")),
    ("misspelt top-level key", A, ("accounts:", "acounts:"), ("accounts.yaml:5", "field 'acounts'", "did you mean 'accounts'")),
    ("misspelt agency key", A, ("    notify: [moh-comms]", "    notfy: [moh-comms]"), ("accounts.yaml:4", "did you mean 'notify'")),
    ("misspelt policy key", P, ("  repeat_hours: 24", "  repeat_hourz: 24"), ("policy.yaml:11", "did you mean 'repeat_hours'")),
    ("misspelt threshold key", P, ("warn_days: 7,", "warn_dayz: 7,"), ("policy.yaml:4", "did you mean 'warn_days'")),
    ("unknown platform override", P, BASE_POLICY.replace("  levels:", "  platforms:\n    myspace: {}\n  levels:"), ("policy.yaml", "unknown platform 'myspace'")),
    ("misspelt apprise key", N, BASE_APPRISE + "tags: x\n", ("apprise.yaml:5", "did you mean 'tag'")),
    # --- numbers: finite and in range ---
    ("infinite window", P, ("window_days: 30", "window_days: .inf"), ("policy.yaml:1", "field 'window_days'")),
    ("1e300 window", P, ("window_days: 30", "window_days: 1e300"), ("policy.yaml:1", "field 'window_days'", "3650")),
    ("NaN hours", P, ("  sla_hours: 24", "  sla_hours: .nan"), ("policy.yaml:6", "field 'sla_hours'", "finite")),
    ("days over ten years", P, ("warn_days: 7,", "warn_days: 4000,"), ("policy.yaml:4", "warn_days", "3650")),
    ("hours over ten years", P, ("  critical_hours: 168", "  critical_hours: 100000"), ("policy.yaml:9", "critical_hours", "87600")),
    ("1e10 repeat", P, ("  repeat_hours: 24", "  repeat_hours: 1.0e10"), ("policy.yaml:11", "repeat_hours")),
    ("negative sla", P, ("  sla_hours: 24", "  sla_hours: -1"), ("policy.yaml:6", "sla_hours", "greater than 0")),
    ("zero window", P, ("window_days: 30", "window_days: 0"), ("policy.yaml:1", "window_days")),
    ("text threshold", P, ("  sla_hours: 24", "  sla_hours: soon"), ("policy.yaml:6", "sla_hours")),
    ("inverted thresholds", P, ("warn_days: 7, critical_days: 14", "warn_days: 14, critical_days: 7"), ("policy.yaml:4", "below warn_days")),
    # --- URLs ---
    ("api_base without scheme", A, ("api_base: https://blog.health", "api_base: blog.health"), ("accounts.yaml:9", "field 'api_base'", "https://")),
    ("api_base over plain http", A, ("api_base: https://blog.health", "api_base: http://blog.health"), ("accounts.yaml:9", "field 'api_base'", "localhost")),
    ("api_base with userinfo", A, ("https://blog.health", "https://admin:pw@blog.health"), ("accounts.yaml:9", "field 'api_base'", "user name or password")),
    ("api_base bad port", A, ("https://blog.health.example.gov", "https://blog.health.example.gov:99999"), ("accounts.yaml:9", "field 'api_base'", "not a valid URL")),
    ("api_base bad host", A, ("https://blog.health.example.gov", "https://blog_health!.example.gov"), ("accounts.yaml:9", "field 'api_base'", "not a valid host")),
    ("api_base javascript", A, ("https://blog.health.example.gov", "javascript:alert(1)"), ("accounts.yaml:9", "field 'api_base'")),
    ("api_base ftp", A, ("https://social.example.gov", "ftp://social.example.gov"), ("accounts.yaml:16", "field 'api_base'")),
    ("url over plain http", A, ("    handle: health\n", "    handle: health\n    url: http://social.example.gov/@health\n"), ("accounts.yaml:16", "field 'url'")),
    # --- fields ---
    ("unknown platform", A, ("platform: wordpress", "platform: myspace"), ("accounts.yaml:8", "field 'platform'", "unknown platform 'myspace'")),
    ("bad engagement", A, ("engagement: engaged", "engagement: sometimes"), ("accounts.yaml:18", "field 'engagement'")),
    ("no custodians", A, ("custodians: [moh-web]", "custodians: []"), ("accounts.yaml:10", "field 'custodians'")),
    ("mastodon without handle", A, ("    handle: health\n", ""), ("accounts.yaml:12", "needs its handle")),
    ("token_env lower case", A, ("token_env: MOH_TOKEN", "token_env: moh-token"), ("accounts.yaml:19", "field 'token_env'")),
    ("id with spaces", A, ("id: moh-blog", "id: MoH Blog"), ("accounts.yaml:6", "field 'id'")),
    ("number as handle", A, ("handle: health", "handle: 12345"), ("accounts.yaml:15", "field 'handle'")),
    ("paused without reason", A, ("    engagement: active", "    engagement: active\n    paused: true"), ("accounts.yaml:12", "say why")),
    ("unknown time zone", A, ("    notify: [moh-comms]", "    notify: [moh-comms]\n    timezone: Mars/Olympus"), ("accounts.yaml:5", "unknown time zone")),
    # --- cross-references, reported even beside field errors ---
    ("unknown agency", A, ("  - id: moh-social\n    agency: moh", "  - id: moh-social\n    agency: culture"), ("accounts.yaml:13", "unknown agency 'culture'")),
    ("duplicate account id", A, ("id: moh-social", "id: moh-blog"), ("accounts.yaml:12", "duplicate id 'moh-blog'")),
    ("custodian tag nobody carries", A, ("custodians: [moh-web]", "custodians: [nobody-listens]"), ("accounts.yaml:10", "'nobody-listens' is carried by no URL")),
    ("agency tag nobody carries", A, ("notify: [moh-comms]", "notify: [ghost-comms]"), ("accounts.yaml:4", "'ghost-comms' is carried by no URL")),
    ("override of an unknown account", P, BASE_POLICY.replace("  levels:", "  accounts: {ghost: {warn_days: 1, critical_days: 2}}\n  levels:"), ("policy.yaml", "unknown account 'ghost'")),
    # --- apprise ---
    ("unknown apprise scheme", N, ("json://hooks", "jsonn://hooks"), ("apprise.yaml:3", "urls[0]", "knows no jsonn:// service")),
    ("apprise URL not a URL", N, ("json://hooks.example.gov/moh", "hooks.example.gov"), ("apprise.yaml:3", "urls[0]", "not a URL")),
    ("apprise variable not set", N, ("json://hooks", "json://u:${CORPUS_UNSET_SECRET}@hooks"), ("apprise.yaml:3", "CORPUS_UNSET_SECRET is not set")),
    ("apprise urls not a list", N, "version: 1\nurls: json://hooks.example.gov\n", ("apprise.yaml:2", "field 'urls'")),
    ("apprise entry is a number", N, BASE_APPRISE + "  - 42\n", ("apprise.yaml:5", "urls[1]", "expected a URL")),
]

CROSS_CHECK_BESIDE_FIELD_ERROR = (
    ("engagement: active", "engagement: sometimes"),
    ("  - id: moh-social\n    agency: moh", "  - id: moh-social\n    agency: culture"),
)
"""Two faults in one file: a field error AND an unknown agency; both must be reported in one pass."""
