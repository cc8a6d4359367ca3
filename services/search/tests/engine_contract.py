"""What every search engine must do (docs/search.md, "Engines"), written once for both.

A test module subclasses `EngineContract` and provides a fixture named `engine`: a
started, empty engine of its own (its own file, its own index prefix):

    class TestEmbeddedContract(EngineContract):
        @pytest.fixture
        async def engine(self, tmp_path):
            ...

The tests use nothing but the `SearchEngine` interface. They assume that a write is
visible to reads once its call has returned (the embedded engine's are; an OpenSearch
engine must refresh, e.g. `refresh="wait_for"`, or the subclass overrides `settle`,
which the tests call after every batch of writes, to refresh the index).

The module is imported by path (pytest runs with --import-mode=importlib): a test module
puts this folder on sys.path first.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pingvas_search.engine.base import (
    ImageDoc,
    ImageHits,
    ImageQuery,
    InvalidCursor,
    SearchEngine,
    Segment,
)

BASE_TIME = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
_clock = itertools.count(1)

#: what a user might type to break out of a query; none may error or leak
CRAFTED = [
    '" OR 1=1 --',
    "' OR '1'='1",
    "tenant_x:*",
    "tenant : *",
    "NEAR(고양이 cat)",
    "*",
    "^",
    "^고양이",
    "AND OR NOT",
    'cat" OR "dog',
    '"고양이',
    "고양이)",
    "(",
    "{tenant terms}: cat",
    "cat*",
    "-cat",
    "+",
    "%",
    "_",
    "\\",
    "'; DROP TABLE docs; --",
    "고양이 " * 300,
    "a" * 5000,
    "\ue000고양이\ue001",
    "",
    "   ",
]


def new_tenant(label: str = "t") -> str:
    return f"tenant-{label}-{uuid.uuid4().hex[:12]}"


def make_doc(
    tenant_id: str,
    prompt: str,
    *,
    image_id: str | None = None,
    model: str = "tiny-sd1",
    created_at: datetime | None = None,
    negative_prompt: str = "",
) -> ImageDoc:
    """An image of `tenant_id` with `prompt`; each one is created a second after the
    previous one unless `created_at` says otherwise."""
    image_id = image_id or str(uuid.uuid4())
    return ImageDoc(
        tenant_id=tenant_id,
        image_id=image_id,
        job_id=str(uuid.uuid4()),
        user_id=str(uuid.uuid4()),
        api_key_id=None,
        index=0,
        prompt=prompt,
        negative_prompt=negative_prompt,
        model=model,
        width=64,
        height=64,
        seed=42,
        steps=8,
        cfg_scale=7.5,
        scheduler="euler",
        png_key=f"{tenant_id}/{image_id}.png",
        thumbnail_key=f"{tenant_id}/{image_id}.webp",
        size_bytes=1234,
        created_at=created_at or BASE_TIME + timedelta(seconds=next(_clock)),
    )


#: prompts that match none of the tests' queries (so BM25's document frequencies are sane)
FILLER = [
    "푸른 바다 위의 작은 배",
    "a lighthouse by the sea at dawn",
    "눈 덮인 산과 소나무 숲",
    "neon city street at night, rain",
    "빨간 자동차가 달리는 도로",
    "an old wooden bridge over a river",
]


def prompts(hits: ImageHits) -> list[str]:
    return [h.doc.prompt for h in hits.items]


def marked(highlight: list[Segment]) -> list[str]:
    return [s.text for s in highlight if s.match]


class EngineContract:
    """The contract; subclasses provide the `engine` fixture."""

    async def settle(self, engine: SearchEngine) -> None:
        """Make the writes so far visible to reads (nothing to do for most engines)."""

    async def add(self, engine: SearchEngine, *docs: ImageDoc) -> list[ImageDoc]:
        await engine.upsert(list(docs))
        await self.settle(engine)
        return list(docs)

    async def add_prompts(self, engine: SearchEngine, tenant: str, *texts: str) -> list[ImageDoc]:
        return await self.add(engine, *(make_doc(tenant, t) for t in texts))

    async def find(self, engine: SearchEngine, tenant: str, text: str, **kw) -> ImageHits:
        return await engine.search(ImageQuery(tenant_id=tenant, text=text, **kw))

    # -- relevance -----------------------------------------------------------------

    async def test_a_korean_noun_finds_its_inflected_form(self, engine):
        tenant = new_tenant()
        await self.add_prompts(engine, tenant, "귀여운 고양이들이 노는 사진", *FILLER)
        hits = await self.find(engine, tenant, "고양이")
        assert prompts(hits) == ["귀여운 고양이들이 노는 사진"]
        assert hits.total == 1
        assert hits.items[0].score is not None and hits.items[0].score > 0

    async def test_korean_adjectives_and_verbs_match_by_their_stem(self, engine):
        tenant = new_tenant()
        await self.add_prompts(engine, tenant, "귀여운 고양이들이 노는 사진", *FILLER)
        assert prompts(await self.find(engine, tenant, "귀여운 고양이")) == [
            "귀여운 고양이들이 노는 사진"
        ]
        assert prompts(await self.find(engine, tenant, "노는 고양이")) == [
            "귀여운 고양이들이 노는 사진"
        ]

    async def test_an_english_plural_finds_the_singular(self, engine):
        tenant = new_tenant()
        await self.add_prompts(engine, tenant, "a cat on a sofa", *FILLER)
        assert prompts(await self.find(engine, tenant, "cats")) == ["a cat on a sofa"]
        assert prompts(await self.find(engine, tenant, "CAT")) == ["a cat on a sofa"]

    async def test_mixed_language_prompts_are_found_by_either_language(self, engine):
        tenant = new_tenant()
        mixed = "소파 위의 고양이, a cat sleeping on a sofa"
        await self.add_prompts(engine, tenant, mixed, *FILLER)
        for query in ["고양이", "cat", "sofa 고양이", "sleeping", "소파", "sleep cats"]:
            assert prompts(await self.find(engine, tenant, query)) == [mixed], query

    async def test_every_query_word_must_match(self, engine):
        tenant = new_tenant()
        await self.add_prompts(
            engine,
            tenant,
            "고양이 사진",
            "강아지 사진",
            "고양이와 강아지가 함께 노는 사진",
            *FILLER,
        )
        assert prompts(await self.find(engine, tenant, "고양이 강아지")) == [
            "고양이와 강아지가 함께 노는 사진"
        ]
        assert prompts(await self.find(engine, tenant, "고양이 우주선")) == []

    async def test_a_more_relevant_prompt_ranks_first(self, engine):
        tenant = new_tenant()
        strong = "고양이 고양이 고양이 그림"
        weak = (
            "정원에서 뛰어노는 강아지와 나무 아래 고양이 한 마리 그리고 꽃과 나비가 있는 "
            "평화로운 봄날의 풍경 그림"
        )
        # the weak one is the newer: relevance, not recency, puts the strong one first
        await self.add_prompts(engine, tenant, *FILLER, strong, weak)
        hits = await self.find(engine, tenant, "고양이")
        assert prompts(hits) == [strong, weak]
        assert hits.items[0].score > hits.items[1].score

        en_strong = "cat portrait, a cat with a cat toy"
        en_weak = "a sunny garden with flowers, trees, a bench, a small pond and a cat far away"
        english = new_tenant()  # "cat" finds 고양이 too (test_relevance.py)
        await self.add_prompts(engine, english, *FILLER, en_strong, en_weak)
        assert prompts(await self.find(engine, english, "cat")) == [en_strong, en_weak]

    async def test_equally_relevant_prompts_come_newest_first(self, engine):
        tenant = new_tenant()
        docs = await self.add_prompts(engine, tenant, "고양이 그림", "고양이 그림", "고양이 그림")
        hits = await self.find(engine, tenant, "고양이")
        assert [h.doc.image_id for h in hits.items] == [d.image_id for d in reversed(docs)]

    async def test_a_query_that_matches_nothing_returns_nothing(self, engine):
        tenant = new_tenant()
        await self.add_prompts(engine, tenant, "귀여운 고양이들이 노는 사진", *FILLER)
        for query in ["우주선", "spaceship", "고양이 spaceship"]:
            hits = await self.find(engine, tenant, query)
            assert hits.items == [] and hits.total == 0 and hits.next_cursor is None, query

    async def test_the_negative_prompt_is_not_searched(self, engine):
        tenant = new_tenant()
        await self.add(engine, make_doc(tenant, "a dog in the park", negative_prompt="cat, blurry"))
        assert prompts(await self.find(engine, tenant, "cat")) == []

    async def test_an_empty_query_lists_everything_newest_first(self, engine):
        tenant = new_tenant()
        docs = await self.add_prompts(engine, tenant, "첫 번째", "second", "세 번째")
        for sort in ("relevance", "newest"):
            hits = await self.find(engine, tenant, "", sort=sort)
            assert [h.doc.image_id for h in hits.items] == [d.image_id for d in reversed(docs)]
            assert hits.total == 3
            assert [h.highlight for h in hits.items] == [
                [Segment(d.prompt, False)] for d in reversed(docs)
            ]

    async def test_hits_carry_the_whole_document(self, engine):
        tenant = new_tenant()
        doc = make_doc(tenant, "귀여운 고양이들이 노는 사진", negative_prompt="흐릿한")
        await self.add(engine, doc)
        (hit,) = (await self.find(engine, tenant, "고양이")).items
        assert hit.doc == doc

    # -- filters and sorting --------------------------------------------------------

    async def test_the_model_filter(self, engine):
        tenant = new_tenant()
        a = make_doc(tenant, "고양이 그림", model="tiny-sd1")
        b = make_doc(tenant, "고양이 그림", model="sdxl")
        await self.add(engine, a, b)
        for text in ("고양이", ""):
            hits = await self.find(engine, tenant, text, model="sdxl")
            assert [h.doc.image_id for h in hits.items] == [b.image_id]
            assert hits.total == 1
        assert (await self.find(engine, tenant, "고양이", model="nope")).items == []

    async def test_the_time_filters_include_since_and_exclude_until(self, engine):
        tenant = new_tenant()
        t0 = datetime(2025, 5, 1, tzinfo=UTC)
        docs = [
            make_doc(tenant, "고양이 그림", created_at=t0 + timedelta(hours=h)) for h in range(4)
        ]
        await self.add(engine, *docs)
        for text in ("고양이", ""):
            hits = await self.find(
                engine,
                tenant,
                text,
                since=t0 + timedelta(hours=1),
                until=t0 + timedelta(hours=3),
                sort="newest",
            )
            assert [h.doc.image_id for h in hits.items] == [docs[2].image_id, docs[1].image_id]
            assert hits.total == 2

    async def test_sort_newest_ignores_relevance(self, engine):
        tenant = new_tenant()
        strong = make_doc(tenant, "고양이 고양이 고양이 그림")
        weak = make_doc(tenant, "정원의 나무 아래 고양이 한 마리와 꽃과 나비가 있는 풍경")
        await self.add(engine, strong, weak, *(make_doc(tenant, f) for f in FILLER))
        hits = await self.find(engine, tenant, "고양이", sort="newest")
        assert [h.doc.image_id for h in hits.items] == [weak.image_id, strong.image_id]
        hits = await self.find(engine, tenant, "고양이")
        assert [h.doc.image_id for h in hits.items] == [strong.image_id, weak.image_id]

    # -- pagination -----------------------------------------------------------------

    async def _pages(self, engine, query: ImageQuery) -> list[ImageHits]:
        pages = [await engine.search(query)]
        while pages[-1].next_cursor is not None:
            assert len(pages) < 50, "the cursors never end"
            pages.append(
                await engine.search(
                    ImageQuery(**{**query.__dict__, "cursor": pages[-1].next_cursor})
                )
            )
        return pages

    async def test_cursors_cover_every_match_exactly_once(self, engine):
        tenant = new_tenant()
        # varied relevance, some ties, equal timestamps among some of them
        same_time = BASE_TIME + timedelta(days=30)
        docs = [
            make_doc(
                tenant,
                " ".join(["고양이"] * (1 + i % 3) + ["그림", "풍경"][: i % 2 + 1]) + " cat",
                created_at=same_time if i % 4 == 0 else None,
            )
            for i in range(23)
        ]
        await self.add(engine, *docs, *(make_doc(tenant, f) for f in FILLER))
        expected = {d.image_id for d in docs}
        for text, sort in [("고양이", "relevance"), ("고양이", "newest"), ("cat", "relevance")]:
            pages = await self._pages(
                engine, ImageQuery(tenant_id=tenant, text=text, sort=sort, limit=5)
            )
            seen = [h.doc.image_id for p in pages for h in p.items]
            assert len(seen) == len(set(seen)) == 23, (text, sort)
            assert set(seen) == expected
            assert [len(p.items) for p in pages] == [5, 5, 5, 5, 3]
            assert all(p.total == 23 for p in pages)
        pages = await self._pages(engine, ImageQuery(tenant_id=tenant, text="", limit=7))
        seen = [h.doc.image_id for p in pages for h in p.items]
        assert len(seen) == len(set(seen)) == 23 + len(FILLER)
        assert [h.doc.created_at for p in pages for h in p.items] == sorted(
            [h.doc.created_at for p in pages for h in p.items], reverse=True
        )

    async def test_the_last_page_has_no_cursor(self, engine):
        tenant = new_tenant()
        await self.add_prompts(engine, tenant, "고양이 하나", "고양이 둘")
        hits = await self.find(engine, tenant, "고양이", limit=2)
        assert len(hits.items) == 2 and hits.next_cursor is None

    async def test_a_cursor_it_did_not_issue_is_refused(self, engine):
        tenant = new_tenant()
        await self.add_prompts(engine, tenant, *["고양이 그림"] * 4)
        first = await self.find(engine, tenant, "고양이", limit=2)
        assert first.next_cursor
        for bad in ["not-a-cursor", "", "e30", first.next_cursor[:-3] + "@@@", "{}" * 10]:
            if not bad:
                continue
            with pytest.raises(InvalidCursor):
                await self.find(engine, tenant, "고양이", limit=2, cursor=bad)

    async def test_a_cursor_of_another_query_is_refused(self, engine):
        tenant, other = new_tenant("a"), new_tenant("b")
        await self.add_prompts(engine, tenant, *["고양이 그림 cat"] * 4)
        await self.add_prompts(engine, other, *["고양이 그림 cat"] * 4)
        first = await self.find(engine, tenant, "고양이", limit=2)
        newest = await self.find(engine, tenant, "", limit=2)
        for kwargs in [
            {"text": "cat"},
            {"text": "고양이", "sort": "newest"},
            {"text": "고양이", "model": "sdxl"},
        ]:
            with pytest.raises(InvalidCursor):
                await self.find(engine, tenant, limit=2, cursor=first.next_cursor, **kwargs)
        with pytest.raises(InvalidCursor):  # another tenant's cursor
            await self.find(engine, other, "고양이", limit=2, cursor=first.next_cursor)
        with pytest.raises(InvalidCursor):
            await self.find(engine, other, "", limit=2, cursor=newest.next_cursor)

    # -- highlight ------------------------------------------------------------------

    async def test_highlight_marks_the_matched_words(self, engine):
        tenant = new_tenant()
        await self.add_prompts(
            engine, tenant, "귀여운 고양이들이 노는 사진", "a cat on a sofa, cats sleeping"
        )
        # each word finds the prompt in the other language too, and marks its words
        hits = {h.doc.prompt: h for h in (await self.find(engine, tenant, "고양이")).items}
        hit = hits["귀여운 고양이들이 노는 사진"]
        assert "".join(s.text for s in hit.highlight) == "귀여운 고양이들이 노는 사진"
        assert marked(hit.highlight) == ["고양이"]
        assert marked(hits["a cat on a sofa, cats sleeping"].highlight) == ["cat", "cats"]

        hits = {h.doc.prompt: h for h in (await self.find(engine, tenant, "cats")).items}
        hit = hits["a cat on a sofa, cats sleeping"]
        assert "".join(s.text for s in hit.highlight) == "a cat on a sofa, cats sleeping"
        assert marked(hit.highlight) == ["cat", "cats"]
        assert marked(hits["귀여운 고양이들이 노는 사진"].highlight) == ["고양이"]

        (hit,) = (await self.find(engine, tenant, "고양이 노는")).items
        assert "고양이" in marked(hit.highlight)
        assert any(m.startswith("노") for m in marked(hit.highlight))

    async def test_a_long_prompt_is_cut_around_the_first_match(self, engine):
        tenant = new_tenant()
        words = ["푸른", "하늘", "아래", "넓은", "들판", "위의", "작은", "집", "그리고", "나무"]
        before = " ".join(words[i % len(words)] for i in range(80))
        prompt = f"{before} 고양이 한 마리가 잠을 잔다 {before}"
        await self.add_prompts(engine, tenant, prompt)
        (hit,) = (await self.find(engine, tenant, "고양이")).items
        text = "".join(s.text for s in hit.highlight)
        assert marked(hit.highlight) == ["고양이"]
        assert len(text) < len(prompt) / 2
        assert text.startswith("…") and text.endswith("…")
        (hit,) = (await self.find(engine, tenant, "")).items
        text = "".join(s.text for s in hit.highlight)
        assert len(hit.highlight) == 1 and not hit.highlight[0].match
        assert prompt.startswith(text.rstrip("…").rstrip()) and text.endswith("…")

    # -- suggest --------------------------------------------------------------------

    async def test_suggest_completes_a_korean_word(self, engine):
        tenant = new_tenant()
        await self.add_prompts(
            engine, tenant, "귀여운 고양이들이 노는 사진", "고양이 그림", "강아지 사진"
        )
        got = await engine.suggest(tenant, "고양")
        assert {s.prompt for s in got} == {"귀여운 고양이들이 노는 사진", "고양이 그림"}
        for s in got:
            assert "".join(x.text for x in s.highlight) == s.prompt
            assert marked(s.highlight) and all(m.startswith("고양") for m in marked(s.highlight))
        got = await engine.suggest(tenant, "귀여운 고")
        assert [s.prompt for s in got] == ["귀여운 고양이들이 노는 사진"]

    async def test_suggest_completes_an_english_word(self, engine):
        tenant = new_tenant()
        await self.add_prompts(engine, tenant, "a cat on a sofa", "a dog on a sofa", "two birds")
        got = await engine.suggest(tenant, "a ca")
        assert [s.prompt for s in got] == ["a cat on a sofa"]
        assert any(m.lower().startswith("ca") for m in marked(got[0].highlight))
        assert [s.prompt for s in await engine.suggest(tenant, "So")] == [
            "a dog on a sofa",
            "a cat on a sofa",
        ]
        assert await engine.suggest(tenant, "zebra") == []

    async def test_suggest_puts_the_most_used_prompt_first(self, engine):
        tenant = new_tenant()
        await self.add_prompts(engine, tenant, *["고양이 그림"] * 3, "고양이 사진")
        await self.add_prompts(engine, tenant, "고양이 초상화", "고양이 사진")
        got = await engine.suggest(tenant, "고양이")
        assert [(s.prompt, s.images) for s in got] == [
            ("고양이 그림", 3),
            ("고양이 사진", 2),
            ("고양이 초상화", 1),
        ]
        assert [s.prompt for s in await engine.suggest(tenant, "고양이", limit=2)] == [
            "고양이 그림",
            "고양이 사진",
        ]

    async def test_suggest_with_an_empty_prefix_gives_the_recent_prompts(self, engine):
        tenant = new_tenant()
        await self.add_prompts(engine, tenant, "첫 그림", "둘째 그림", "첫 그림", "셋째 그림")
        got = await engine.suggest(tenant, "")
        assert [(s.prompt, s.images) for s in got] == [
            ("셋째 그림", 1),
            ("첫 그림", 2),
            ("둘째 그림", 1),
        ]
        assert all(not any(x.match for x in s.highlight) for s in got)
        assert len(await engine.suggest(tenant, "", limit=2)) == 2

    # -- tenancy --------------------------------------------------------------------

    async def test_another_tenant_sees_nothing(self, engine):
        a, b = new_tenant("a"), new_tenant("b")
        await self.add_prompts(
            engine,
            a,
            "귀여운 고양이들이 노는 사진",
            "a cat on a sofa",
            f"prompt naming {a} itself",
            "tenant_x 1=1 OR NEAR AND NOT",
            *FILLER,
        )
        assert await engine.count(b) == 0
        for text in [*CRAFTED, a, a.upper(), "고양이", "cat", "a", "tenant"]:
            for sort in ("relevance", "newest"):
                hits = await self.find(engine, b, text, sort=sort)
                assert hits.items == [] and hits.total == 0, text
            assert await engine.suggest(b, text) == [], text
        assert await engine.suggest(b, "") == []

    async def test_a_tenant_gets_only_its_own_among_others(self, engine):
        a, b = new_tenant("a"), new_tenant("b")
        mine = await self.add_prompts(engine, b, "고양이 그림", "a cat")
        await self.add_prompts(engine, a, *["고양이 그림", "a cat"] * 3, *FILLER)
        ids = {d.image_id for d in mine}
        for text in [*CRAFTED, a, "고양이", "cat", "그림"]:
            hits = await self.find(engine, b, text, limit=100)
            assert {h.doc.image_id for h in hits.items} <= ids, text
            assert hits.total <= 2
            assert all(h.doc.tenant_id == b for h in hits.items)
            for s in await engine.suggest(b, text):
                assert s.prompt in {"고양이 그림", "a cat"} and s.images == 1, text
        assert await engine.count(b) == 2
        assert await engine.count(a) == 6 + len(FILLER)
        assert await engine.count() == 8 + len(FILLER)

    async def test_crafted_queries_are_plain_words(self, engine):
        tenant = new_tenant()
        await self.add_prompts(engine, tenant, "a cat on a sofa", "고양이 그림", *FILLER)
        for text in CRAFTED:
            hits = await self.find(engine, tenant, text)  # never an error
            assert hits.total == len(hits.items) <= 2 + len(FILLER)
            await engine.suggest(tenant, text)
        assert prompts(await self.find(engine, tenant, 'cat" OR "dog')) == []
        assert prompts(await self.find(engine, tenant, "NEAR(고양이")) == []
        assert prompts(await self.find(engine, tenant, "그림)")) == ["고양이 그림"]
        assert prompts(await self.find(engine, tenant, "^그림")) == ["고양이 그림"]

    # -- writes ---------------------------------------------------------------------

    async def test_delete_removes_only_that_tenants_images(self, engine):
        a, b = new_tenant("a"), new_tenant("b")
        d1, d2 = await self.add_prompts(engine, a, "고양이 그림", "고양이 사진")
        (other,) = await self.add_prompts(engine, b, "고양이 그림")
        await engine.delete(a, [d1.image_id])
        await engine.delete(a, [d1.image_id, "no-such-image"])  # again: nothing happens
        await engine.delete(a, [other.image_id])  # not a's: nothing happens
        await self.settle(engine)
        assert prompts(await self.find(engine, a, "고양이")) == ["고양이 사진"]
        assert await engine.count(a) == 1
        assert await engine.count(b) == 1
        assert [s.prompt for s in await engine.suggest(a, "고양")] == ["고양이 사진"]

    async def test_delete_tenant_removes_everything_of_it(self, engine):
        a, b = new_tenant("a"), new_tenant("b")
        await self.add_prompts(engine, a, "고양이 그림", "a cat", *FILLER)
        await self.add_prompts(engine, b, "고양이 그림")
        await engine.delete_tenant(a)
        await self.settle(engine)
        assert await engine.count(a) == 0
        assert (await self.find(engine, a, "")).items == []
        assert await engine.suggest(a, "") == []
        assert await engine.count(b) == 1
        assert prompts(await self.find(engine, b, "고양이")) == ["고양이 그림"]

    async def test_upsert_is_idempotent_and_replaces(self, engine):
        tenant = new_tenant()
        doc = make_doc(tenant, "고양이 그림")
        await self.add(engine, doc)
        await self.add(engine, doc)
        await self.add(engine, doc, doc)
        assert await engine.count(tenant) == 1
        assert (await self.find(engine, tenant, "고양이")).total == 1
        assert [s.images for s in await engine.suggest(tenant, "고양")] == [1]
        changed = make_doc(tenant, "강아지 사진", image_id=doc.image_id, created_at=doc.created_at)
        await self.add(engine, changed)
        assert await engine.count(tenant) == 1
        assert (await self.find(engine, tenant, "고양이")).items == []
        (hit,) = (await self.find(engine, tenant, "강아지")).items
        assert hit.doc == changed

    # -- reindex --------------------------------------------------------------------

    async def test_reindex_builds_a_new_generation_without_downtime(self, engine):
        tenant = new_tenant()
        before = await engine.generations()
        assert len(before["read"]) == 1 and before["write"] == before["read"]
        old1, old2 = await self.add_prompts(engine, tenant, "고양이 하나", "고양이 둘")

        gen = await engine.begin_reindex()
        during = await engine.generations()
        assert during["read"] == before["read"]
        assert set(during["write"]) == {*before["read"], gen}
        assert gen not in before["read"]

        # writes while the reindex runs go to both generations
        (live,) = await self.add_prompts(engine, tenant, "고양이 셋")
        # reads still use the old generation, complete
        assert (await self.find(engine, tenant, "고양이")).total == 3
        # the source of truth's pages: old1 and a doc the old index never had
        missed = make_doc(tenant, "고양이 넷")
        await engine.bulk_load(gen, [old1, missed])
        await self.settle(engine)
        assert (await self.find(engine, tenant, "고양이")).total == 3  # not yet visible
        # an image deleted during the reindex: gone from both
        await engine.delete(tenant, [live.image_id])
        # catch-up: old1 was deleted while its page was in flight
        await engine.delete_from(gen, [(tenant, old1.image_id)])
        await self.settle(engine)
        assert (await self.find(engine, tenant, "고양이")).total == 2  # old1, old2 still read

        await engine.finish_reindex(gen)
        await self.settle(engine)
        assert await engine.generations() == {"read": [gen], "write": [gen]}
        hits = await self.find(engine, tenant, "고양이")
        assert prompts(hits) == ["고양이 넷"]
        assert await engine.count(tenant) == 1
        assert [s.prompt for s in await engine.suggest(tenant, "고양")] == ["고양이 넷"]
        # and it is an ordinary generation from now on
        (after,) = await self.add_prompts(engine, tenant, "고양이 다섯")
        assert (await self.find(engine, tenant, "고양이")).total == 2
        assert old2.image_id not in {h.doc.image_id for h in hits.items}
        assert after.image_id in {
            h.doc.image_id for h in (await self.find(engine, tenant, "고양이")).items
        }

    async def test_an_aborted_reindex_leaves_everything_as_it_was(self, engine):
        tenant = new_tenant()
        before = await engine.generations()
        await self.add_prompts(engine, tenant, "고양이 하나")
        gen = await engine.begin_reindex()
        await engine.bulk_load(gen, [make_doc(tenant, "고양이 유령")])
        await self.add_prompts(engine, tenant, "고양이 둘")
        await engine.abort_reindex(gen)
        await self.settle(engine)
        assert await engine.generations() == before
        assert sorted(prompts(await self.find(engine, tenant, "고양이"))) == [
            "고양이 둘",
            "고양이 하나",
        ]
        await self.add_prompts(engine, tenant, "고양이 셋")
        assert (await self.find(engine, tenant, "고양이")).total == 3
        # a second reindex after the aborted one works as the first would have
        gen2 = await engine.begin_reindex()
        await engine.finish_reindex(gen2)
        await self.settle(engine)
        assert await engine.count(tenant) == 0
