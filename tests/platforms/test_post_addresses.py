"""Each platform keeps a post's links and media addresses as its API gives them (documented
response shapes), and nothing but http(s) addresses, capped."""

from __future__ import annotations

from datetime import UTC, datetime

import requests

from flows.platforms import flickr, mastodon, wordpress, x, youtube
from flows.records import ADDRESSES_CAP, FetchState, Post, Target, web_addresses

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def only_post(records) -> Post:
    [post] = [r for r in records if isinstance(r, Post)]
    return post


def test_web_addresses_keep_http_only_once_each_and_capped():
    found = web_addresses(["https://a.example/x", "javascript:alert(1)", None, 7, " https://a.example/x ",
                           "data:text/html,<b>", "HTTP://B.example/\u202e"])
    assert found == ("https://a.example/x", "HTTP://B.example/")
    assert len(web_addresses(f"https://e.example/{n}" for n in range(100))) == ADDRESSES_CAP


def test_mastodon_keeps_content_links_and_the_card_not_mentions_or_hashtags_and_each_attachment():
    status = {
        "id": "1", "created_at": "2026-11-24T10:00:00.000Z", "url": "https://social.example/@moh/1",
        "in_reply_to_id": None, "in_reply_to_account_id": None, "reblog": None,
        "content": '<p><span class="h-card"><a href="https://social.example/@ali" class="u-url mention">@ali</a></span> '
                   'New hours <a href="https://moh.example.gov.om/hours" rel="nofollow noopener" target="_blank">'
                   'moh.example.gov.om/hours</a> <a href="https://social.example/tags/health" class="mention hashtag" '
                   'rel="tag">#<span>health</span></a> <a href="javascript:alert(1)">x</a></p>',
        "card": {"url": "https://moh.example.gov.om/news?id=1&amp=2", "title": "News"},
        "media_attachments": [{"id": "9", "type": "image", "url": "https://files.social.example/media/9.png",
                               "preview_url": "https://files.social.example/media/9s.png"},
                              {"id": "10", "type": "video", "url": None,
                               "remote_url": "https://other.example/media/10.mp4"}],
    }
    [post] = mastodon._status_records("moh", "42", status)
    assert post.links == ("https://moh.example.gov.om/hours", "https://moh.example.gov.om/news?id=1&amp=2")
    assert post.media_urls == ("https://files.social.example/media/9.png", "https://other.example/media/10.mp4")


def test_x_keeps_expanded_links_and_attached_media_from_includes():
    tweet = {"id": "7", "text": "Read https://t.co/a and see https://t.co/p", "created_at": "2026-11-24T10:00:00.000Z",
             "entities": {"urls": [
                 {"start": 5, "end": 18, "url": "https://t.co/a", "expanded_url": "https://moh.example.gov.om/a",
                  "display_url": "moh.example.gov.om/a"},
                 {"start": 27, "end": 40, "url": "https://t.co/p", "expanded_url": "https://x.com/moh/status/7/photo/1",
                  "display_url": "pic.x.com/p", "media_key": "3_1"}]},
             "attachments": {"media_keys": ["3_1", "7_2"]}}
    media = x._media_files({"includes": {"media": [
        {"media_key": "3_1", "type": "photo", "url": "https://pbs.twimg.com/media/abc.jpg"},
        {"media_key": "7_2", "type": "video", "preview_image_url": "https://pbs.twimg.com/ext_tw_video_thumb/2.jpg"}]}})
    [post] = x._tweet_records("moh-x", "1", "moh", tweet, media)
    assert post.links == ("https://moh.example.gov.om/a",)
    assert post.media_urls == ("https://pbs.twimg.com/media/abc.jpg", "https://pbs.twimg.com/ext_tw_video_thumb/2.jpg")


def test_wordpress_keeps_the_embedded_featured_image():
    post = wordpress._post("blog", {
        "id": 5, "date_gmt": "2026-11-24T10:00:00", "link": "https://blog.example/2026/11/roads/",
        "title": {"rendered": "Roads"}, "author": 2,
        "_embedded": {"wp:featuredmedia": [{"id": 77, "source_url": "https://blog.example/wp-content/uploads/roads.jpg",
                                            "media_type": "image"}]}})
    assert (post.url, post.media_urls) == ("https://blog.example/2026/11/roads/",
                                           ("https://blog.example/wp-content/uploads/roads.jpg",))
    assert wordpress._post("blog", {"id": 6, "date_gmt": "2026-11-24T10:00:00", "title": {}}).media_urls == ()


def reader(module, handle: str = ""):
    target = Target("acct", module.PLATFORM.name, "http://127.0.0.1:9", handle=handle, token="k")
    return module._Reader(target, FetchState(now=NOW, since=NOW), requests.Session())


def test_youtube_keeps_the_video_and_its_largest_thumbnail():
    item = {"snippet": {"title": "Clinic tour", "thumbnails": {
                "default": {"url": "https://i.ytimg.com/vi/abc/default.jpg", "width": 120, "height": 90},
                "high": {"url": "https://i.ytimg.com/vi/abc/hqdefault.jpg", "width": 480, "height": 360}}},
            "contentDetails": {"videoId": "abc", "videoPublishedAt": "2026-11-24T10:00:00Z"}}
    post = reader(youtube).video_post(item)
    assert post.media_urls == ("https://www.youtube.com/watch?v=abc", "https://i.ytimg.com/vi/abc/hqdefault.jpg")


def test_flickr_keeps_the_photo_file_built_from_server_and_secret():
    photo = {"id": "53412345678", "owner": "123@N01", "secret": "a1b2c3d4e5", "server": "65535", "farm": 66,
             "title": "Opening", "dateupload": "1764000000"}
    post = reader(flickr, "123@N01").photo_post(photo)
    assert post.media_urls == ("https://live.staticflickr.com/65535/53412345678_a1b2c3d4e5_b.jpg",)
    assert reader(flickr).photo_post({**photo, "secret": "../x"}).media_urls == ()


def test_wordpress_promises_only_the_part_of_its_read_every_site_zone_covers(monkeypatch):
    from flows.records import ReadWindow

    sent = {}

    def no_posts(session, url, params, paginator, max_pages):  # the site lists nothing new
        sent.update(params)
        return iter(())

    monkeypatch.setattr(wordpress, "paginate", no_posts)
    state = FetchState(now=NOW, since=NOW, cursors={wordpress.STREAM_POSTS: "2026-11-24T10:00:00"})
    records = list(wordpress._read_posts(Target("blog", "wordpress", "http://127.0.0.1:9"), state, None,
                                         "http://127.0.0.1:9"))
    [window] = [r for r in records if isinstance(r, ReadWindow)]
    assert sent["after"] == "2026-11-23T19:00:00"  # the watermark less the 15 h overlap
    assert window.start == datetime(2026, 11, 24, 7, 0, tzinfo=UTC) and window.end == NOW  # … plus 12 h (UTC-12 sites)


def test_a_feed_promises_its_window_only_when_its_entries_come_in_date_order():
    from flows.platforms import feed

    def post(day: int) -> Post:
        return Post("news", f"p{day}", datetime(2026, 11, day, tzinfo=UTC))

    assert feed._listed_window([post(20), post(12), post(3)]) == datetime(2026, 11, 3, tzinfo=UTC)
    assert feed._listed_window([post(3), post(12), post(20)]) == datetime(2026, 11, 3, tzinfo=UTC)
    assert feed._listed_window([post(1), post(20), post(12)]) is None  # sorted by update: a gap may be no deletion
    assert feed._listed_window([]) is None
