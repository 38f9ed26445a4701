"""The simulated WordPress REST API: paging headers, parameter errors, dates, staff replies."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def api(account: dict, route: str) -> str:
    return f"{account['api_base']}/wp-json/wp/v2/{route}"


def test_the_site_index_names_the_site_and_its_time_zone(http, entry):
    index = http.get(f"{entry('wordpress', 'healthy')['api_base']}/wp-json/").json()
    assert {"name", "description", "url", "home", "gmt_offset", "timezone_string", "namespaces"} <= index.keys()
    assert (index["gmt_offset"], index["timezone_string"]) == (4, "Asia/Muscat") and "wp/v2" in index["namespaces"]


def test_posts_page_with_totals_and_link_headers(http, entry):
    account = entry("wordpress", "healthy")
    first = http.get(api(account, "posts"), params={"per_page": 7})
    total, pages = int(first.headers["X-WP-Total"]), int(first.headers["X-WP-TotalPages"])
    assert pages == -(-total // 7) > 2 and len(first.json()) == 7
    assert "prev" not in first.links and "page=2" in first.links["next"]["url"]
    assert "per_page=7" in first.links["next"]["url"] and "X-RateLimit-Limit" not in first.headers
    seen, response = [], first
    while True:
        seen += response.json()
        if "next" not in response.links:
            break
        response = http.get(response.links["next"]["url"])
    assert "page=" in response.links["prev"]["url"] and len(seen) == total == len({p["id"] for p in seen})
    assert [p["date_gmt"] for p in seen] == sorted((p["date_gmt"] for p in seen), reverse=True)


def test_a_page_past_the_last_answers_400_invalid_page_number(http, entry):
    account = entry("wordpress", "healthy")
    pages = int(http.get(api(account, "posts")).headers["X-WP-TotalPages"])
    response = http.get(api(account, "posts"), params={"page": pages + 1})
    assert response.status_code == 400
    assert response.json() == {"code": "rest_post_invalid_page_number",
                               "message": "The page number requested is larger than the number of pages available.",
                               "data": {"status": 400}}


def test_per_page_over_100_answers_400_invalid_param(http, entry):
    response = http.get(api(entry("wordpress", "healthy"), "posts"), params={"per_page": 101})
    assert response.status_code == 400 and response.json()["code"] == "rest_invalid_param"
    assert "per_page" in response.json()["data"]["params"]


def test_the_author_filter_on_comments_is_forbidden_to_anonymous_callers(http, entry):
    response = http.get(api(entry("wordpress", "healthy"), "comments"), params={"author": 2})
    assert response.status_code == 400
    assert response.json()["code"] == "rest_forbidden_param"
    assert response.json()["message"] == "Query parameter not permitted: author"


def test_dates_have_no_suffix_and_local_time_is_four_hours_ahead(http, entry):
    for post in http.get(api(entry("wordpress", "slow"), "posts"), params={"per_page": 100}).json():
        for key in ("date", "date_gmt", "modified", "modified_gmt"):
            assert NAIVE.match(post[key]), post[key]
        local, gmt = datetime.fromisoformat(post["date"]), datetime.fromisoformat(post["date_gmt"])
        assert local - gmt == timedelta(hours=4)
        assert {"id", "slug", "status", "link", "title", "content", "excerpt", "author", "comment_status"} <= post.keys()


def test_after_is_read_as_utc_and_order_asc_reverses(http, entry):
    account = entry("wordpress", "healthy")
    posts = http.get(api(account, "posts"), params={"per_page": 100}).json()
    cut = posts[5]["date_gmt"]
    newer = http.get(api(account, "posts"), params={"after": cut, "order": "asc", "per_page": 100}).json()
    assert [p["id"] for p in newer] == [p["id"] for p in reversed(posts[:5])]
    with_offset = http.get(api(account, "posts"), params={"after": cut + "+00:00", "per_page": 100}).json()
    assert len(with_offset) == 5


def test_fields_limits_what_each_post_carries(http, entry):
    posts = http.get(api(entry("wordpress", "healthy"), "posts"), params={"_fields": "id,date_gmt,title"}).json()
    assert all(set(p) == {"id", "date_gmt", "title"} for p in posts)


def test_staff_replies_are_comments_by_a_listed_user_with_the_question_as_parent(http, entry):
    account = entry("wordpress", "slow")
    staff = {u["id"] for u in http.get(api(account, "users")).json()}
    comments = http.get(api(account, "comments"), params={"per_page": 100, "orderby": "date_gmt", "order": "asc"}).json()
    by_id = {c["id"]: c for c in comments}
    replies = [c for c in comments if c["parent"]]
    assert replies and all(c["author"] in staff for c in replies)
    for reply in replies:
        question = by_id[reply["parent"]]
        assert question["author"] not in staff and question["post"] == reply["post"]
        assert datetime.fromisoformat(reply["date_gmt"]) - datetime.fromisoformat(question["date_gmt"]) > timedelta(days=2)
    assert all(c["status"] == "approved" and c["type"] == "comment" and NAIVE.match(c["date_gmt"]) for c in comments)


def test_users_lists_only_people_with_published_posts(http, entry):
    account = entry("wordpress", "healthy")
    users = http.get(api(account, "users")).json()
    authors = {p["author"] for p in http.get(api(account, "posts"), params={"per_page": 100}).json()}
    assert {u["id"] for u in users} == authors
    assert {"id", "name", "url", "description", "link", "slug", "avatar_urls"} <= users[0].keys()


def test_comments_filter_by_post_and_parent_and_page_past_the_end_is_empty(http, entry):
    account = entry("wordpress", "unanswered")
    comments = http.get(api(account, "comments"), params={"per_page": 100}).json()
    post = comments[0]["post"]
    assert {c["post"] for c in http.get(api(account, "comments"), params={"post": post}).json()} == {post}
    top = http.get(api(account, "comments"), params={"parent": 0, "per_page": 100}).json()
    assert top and all(c["parent"] == 0 for c in top)
    assert http.get(api(account, "comments"), params={"page": 99}).json() == []
