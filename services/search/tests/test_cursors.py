"""The one cursor codec both engines use (engine/cursors.py): bound to the query (tenant,
words, filters, effective sort), strict about what it decodes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pingvas_search.engine import cursors
from pingvas_search.engine.base import ImageQuery, InvalidCursor
from pingvas_search.engine.embedded import _cursors as embedded
from pingvas_search.engine.opensearch import _cursors as opensearch

AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def query(**kw: Any) -> ImageQuery:
    return ImageQuery(**{"tenant_id": "tenant-a", "text": "고양이", **kw})


def _forge(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_both_engines_encode_a_position_the_same_way():
    q = query(sort="newest", model="m", since=AT)
    assert embedded.encode_cursor(q, [5, "img"]) == opensearch.encode_cursor(q, [5, "img"])
    assert cursors.decode_cursor(
        embedded.encode_cursor(q, [5, "img"]), q, lambda sort, after: True
    ) == [5, "img"]


def test_the_words_are_normalised_once_for_both_engines():
    spaced = query(text="  고양이   그림 고양이 ")
    assert cursors.query_fingerprint(spaced) == cursors.query_fingerprint(query(text="고양이 그림"))
    assert cursors.query_fingerprint(query(text="그림 고양이")) != cursors.query_fingerprint(
        query(text="고양이 그림")
    )
    # no word: newest first, whatever was asked
    assert cursors.effective_sort(query(text="  ", sort="relevance")) == "newest"


@pytest.mark.parametrize("codec", [embedded, opensearch], ids=["embedded", "opensearch"])
@pytest.mark.parametrize(
    "other",
    [
        dict(tenant_id="tenant-b"),
        dict(text="강아지"),
        dict(model="sdxl"),
        dict(since=AT),
        dict(until=AT),
        dict(sort="newest"),
    ],
)
def test_a_cursor_of_another_query_is_refused_by_either_engine(codec, other):
    q = query()
    position = [3] if codec is embedded else [1.5, 10, "img"]
    cursor = codec.encode_cursor(q, position)
    assert codec.decode_cursor(cursor, q) == position
    assert codec.decode_cursor(cursor, query(limit=3)) == position  # the limit may change
    with pytest.raises(InvalidCursor):
        codec.decode_cursor(cursor, query(**other))


@pytest.mark.parametrize("codec", [embedded, opensearch], ids=["embedded", "opensearch"])
@pytest.mark.parametrize("bad", ["", "not-a-cursor", "e30", "W10", "@@@@", "x" * 5000, "{}" * 10])
def test_garbage_is_no_cursor_of_either_engine(codec, bad):
    with pytest.raises(InvalidCursor):
        codec.decode_cursor(bad, query())


def test_a_tampered_cursor_is_refused():
    q = query()
    cursor = embedded.encode_cursor(q, [3])
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    payload["a"] = [4]
    assert embedded.decode_cursor(_forge(payload), q) == [4]  # a position it would issue
    payload["q"] = payload["q"][:-2] + "AA"
    with pytest.raises(InvalidCursor):
        embedded.decode_cursor(_forge(payload), q)


def test_the_embedded_engine_takes_only_its_own_positions():
    relevance, newest = query(), query(text="")
    fp = cursors.query_fingerprint
    assert embedded.decode_cursor(_forge({"a": [24], "q": fp(relevance)}), relevance) == [24]
    for after in ([0], [-1], [10**9 + 1], [True], ["24"], [24, "img"], []):
        with pytest.raises(InvalidCursor):
            embedded.decode_cursor(_forge({"a": after, "q": fp(relevance)}), relevance)
    assert embedded.decode_cursor(_forge({"a": [5, "i"], "q": fp(newest)}), newest) == [5, "i"]
    for after in ([5], [5.0, "i"], [True, "i"], [5, 6], [1.0, 5, "i"]):
        with pytest.raises(InvalidCursor):
            embedded.decode_cursor(_forge({"a": after, "q": fp(newest)}), newest)
