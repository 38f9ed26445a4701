"""The fake YouTube's data: channels, their videos (newest first), comment threads and replies.

Built from the generated government. Realism the reader must cope with: every channel has an
old video with comments off; one answered thread in four is busy (the answer comes after the
five replies a thread embeds, so only ``comments.list`` shows it); one in three ends with a
citizen's thanks after the answer (conversation, not a new message).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flows.simulator import texts
from flows.simulator.government import Account
from flows.simulator.wire import as_utc

EMBEDDED_REPLIES = 5
"""Replies a comment thread carries itself; the rest only through ``comments.list``."""


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def opaque(seed: str, length: int) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest()).decode()[:length]


@dataclass
class Comment:
    id: str
    author: str  # channel id of the writer
    author_name: str
    text: str
    at: datetime
    parent: str | None = None

    def json(self, channel_id: str, video_id: str) -> dict[str, Any]:
        snippet = {"channelId": channel_id, "videoId": video_id, "textDisplay": self.text, "textOriginal": self.text,
                   "authorDisplayName": self.author_name, "authorChannelUrl": f"http://www.youtube.com/{self.author_name}",
                   "authorChannelId": {"value": self.author}, "canRate": True, "viewerRating": "none", "likeCount": 0,
                   "publishedAt": stamp(self.at), "updatedAt": stamp(self.at)}
        if self.parent:
            snippet["parentId"] = self.parent
        return {"kind": "youtube#comment", "etag": opaque(self.id, 27), "id": self.id, "snippet": snippet}


@dataclass
class Video:
    id: str
    title: str
    at: datetime
    comments_off: bool = False
    threads: list[tuple[Comment, list[Comment]]] = field(default_factory=list)


@dataclass
class Channel:
    id: str
    handle: str
    registry_id: str
    title: str
    description: str
    suspended: bool
    videos: list[Video] = field(default_factory=list)  # newest first

    @property
    def uploads(self) -> str:
        return "UU" + self.id[2:]


class Store:
    """Every channel, by id and by lower-case @handle, and every video with its channel."""

    def __init__(self, accounts: list[Account]) -> None:
        self.channels: dict[str, Channel] = {}
        self.by_handle: dict[str, Channel] = {}
        self.videos: dict[str, tuple[Channel, Video]] = {}
        for account in accounts:
            self.build(account)

    def build(self, account: Account) -> None:
        channel = Channel(account.extra["channel_id"], account.extra["at_handle"], account.id, account.display_name,
                          f"Official channel of {account.agency.name} | {account.agency.name_ar}",
                          account.behaviour in ("suspended", "deleted", "gone"))
        self.channels[channel.id] = self.by_handle[channel.handle.lower()] = channel
        for post in reversed(account.posts):
            self.add_video(channel, post.created_at, post.title)
        if channel.videos:  # an old video with comments off, older than every other: no behaviour changes
            self.add_video(channel, channel.videos[-1].at - timedelta(days=1), "Archive", comments_off=True)
        for n, message in enumerate(account.messages):
            video = channel.videos[len(account.posts) - 1 - message.post] if message.post is not None else None
            top = self.add_comment(channel, video, message.created_at, message.text, citizen=n)
            if message.reply is None:
                continue
            if n % 4 == 1:  # a busy thread: the answer is past the embedded replies
                for k in range(EMBEDDED_REPLIES):
                    self.add_comment(channel, video, message.created_at + timedelta(minutes=k + 1), "+1", n + k + 1, top)
            self.add_comment(channel, video, message.reply.created_at, message.reply.text, None, top)
            if n % 3 == 2:  # a citizen's thanks after the answer: conversation, not a new message
                self.add_comment(channel, video, message.reply.created_at + timedelta(minutes=30), "شكرا", n, top)

    def add_video(self, channel: Channel, at: datetime, title: str, comments_off: bool = False) -> Video:
        video = Video(opaque(f"{channel.id}:{len(self.videos)}", 11), title, as_utc(at), comments_off)
        channel.videos.append(video)
        channel.videos.sort(key=lambda v: v.at, reverse=True)
        self.videos[video.id] = (channel, video)
        return video

    def add_comment(self, channel: Channel, video: Video | None, at: datetime, text: str, citizen: int | None,
                 parent: Comment | None = None) -> Comment:
        if video is None:
            video = next((v for v in channel.videos if v.at < at and not v.comments_off), channel.videos[-1])
        name, _, username = texts.CITIZENS[citizen % len(texts.CITIZENS)] if citizen is not None else ("", "", "")
        author = channel.id if citizen is None else "UC" + opaque(username, 22)
        count = sum(1 + len(replies) for v in channel.videos for _, replies in v.threads)
        comment_id = "Ug" + opaque(f"{video.id}:{count}", 24)
        comment = Comment(f"{parent.id}.{comment_id[:12]}" if parent else comment_id, author,
                          channel.handle if citizen is None else f"@{username}", text, as_utc(at),
                          parent.id if parent else None)
        if parent is None:
            video.threads.insert(0, (comment, []))
            video.threads.sort(key=lambda thread: thread[0].at, reverse=True)
        else:
            next(replies for top, replies in video.threads if top is parent).append(comment)
        return comment

    def video_of(self, comment_id: str) -> str:
        """The id of the video whose threads hold top-level comment ``comment_id`` ("" if none)."""
        return next((vid for vid, (_, v) in self.videos.items() if any(t.id == comment_id for t, _ in v.threads)), "")
