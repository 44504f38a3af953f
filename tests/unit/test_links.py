"""Links members hand in: http(s) only, at most 2048 characters, platform labels, duplicates seen through."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.services.inputs.links import CONTENT_TYPES, IMAGE_TYPES, check_link, check_upload


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://www.instagram.com/p/Cabc123/", "Instagram"),
        ("https://www.tiktok.com/@alice/video/7301", "TikTok"),
        ("https://vm.tiktok.com/ZMabc/", "TikTok"),
        ("https://youtu.be/dQw4w9WgXcQ", "YouTube"),
        ("https://m.youtube.com/watch?v=dQw4w9WgXcQ", "YouTube"),
        ("https://x.com/alice/status/1", "X"),
        ("https://twitter.com/alice/status/1", "X"),
        ("https://www.threads.net/@alice/post/C1", "Threads"),
        ("https://www.facebook.com/reel/123", "Facebook"),
        ("https://pin.it/abc", "Pinterest"),
        ("https://alice.substack.com/p/my-routine", "Blog"),
        ("https://blog.alice.dev/glow", "Blog"),
        ("http://example.com/page", "link"),
    ],
)
def test_platforms_are_recognised(url: str, platform: str) -> None:
    assert check_link(url).platform == platform


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://example.com/file",
        "javascript:alert(1)",
        "www.tiktok.com/@alice",
        "https://",
        "https://localhost/x",
        "https://exa mple.com",
        "https://user:pw@example.com/",
        "https://example.com:99999/",
    ],
)
def test_bad_links_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_link(url)


def test_length_limit_is_2048() -> None:
    base = "https://example.com/"
    assert check_link(base + "a" * (2048 - len(base))).url.endswith("a")
    with pytest.raises(InvalidInput, match="2048"):
        check_link(base + "a" * (2049 - len(base)))


def test_copies_of_one_link_share_a_key() -> None:
    key = check_link("https://www.tiktok.com/@alice/video/7301").key
    assert check_link("http://tiktok.com/@alice/video/7301/").key == key
    assert check_link("https://www.tiktok.com/@alice/video/7301?utm_source=ig&_r=1#top").key == key
    assert check_link("https://www.tiktok.com/@alice/video/7302").key != key
    # Query parameters that identify the content are kept.
    assert check_link("https://youtube.com/watch?v=a").key != check_link("https://youtube.com/watch?v=b").key


def test_uploads_by_type_and_size() -> None:
    assert check_upload("a.png", "image/png", 10, 100, IMAGE_TYPES) == "image/png"
    assert check_upload("a.mp4", "video/mp4; codecs=avc1", 10, 100, CONTENT_TYPES) == "video/mp4"
    with pytest.raises(InvalidInput, match="file type"):
        check_upload("a.exe", "application/x-msdownload", 10, 100, CONTENT_TYPES)
    with pytest.raises(InvalidInput, match="file type"):
        check_upload("a.mp4", "video/mp4", 10, 100, IMAGE_TYPES)
    with pytest.raises(InvalidInput, match="MB"):
        check_upload("a.png", "image/png", 101, 100, IMAGE_TYPES)
