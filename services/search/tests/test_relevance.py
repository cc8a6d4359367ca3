"""Relevance across Korean compounds and across Korean and English, on a small corpus of
our own, for both engines (docs/search.md, "How matching works").

- The embedded engine is searched end to end.
- The OpenSearch engine cannot run here: its request bodies (`search_body`, built from
  the same shared plan) are evaluated against the corpus' documents (`document`, with
  the `prompt_grams` the shared analysis computes) by `opensearch_matches` below, a
  model of the few query types the bodies use. The analysers of `prompt` (Nori) and
  `prompt.en` (`english`) are stood in for by the shared analyser (kiwi morphemes,
  Snowball stems); `prompt_grams` is whitespace-split, as its analyzer does.

Every case says which prompts a query must find and which it must not; both engines
must find the same prompts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from pingvas_search.engine.base import ImageQuery
from pingvas_search.engine.embedded import EmbeddedEngine
from pingvas_search.engine.opensearch._bodies import search_body
from pingvas_search.engine.opensearch._documents import GRAMS_FIELD, document
from pingvas_search.engine.text import analyze, english_term, raw_words

sys.path.insert(0, str(Path(__file__).parent))

from engine_contract import make_doc, new_tenant  # noqa: E402

CORPUS = {
    # Korean compounds
    "cat-cafe": "고양이카페에서 커피를 마시는 소녀",
    "cat-cafe-sign": "고양이카페 간판, 귀여운 일러스트",
    "coffee-beans": "coffee beans on a wooden table",
    "night-sky": "밤하늘의 별빛 아래 캠핑",
    "special-day": "특별한 날의 선물 상자",
    "cherry-bench": "벚꽃나무 아래 벤치",
    "hanok-alley": "한옥마을의 골목길 풍경",
    "maple-park": "단풍잎이 떨어지는 공원",
    "sandcastle": "바닷가 모래성과 파도",
    "doing": "책을 읽고 공부하는 학생",
    # Korean prompts with an English twin in meaning
    "puppy-park": "귀여운 강아지가 공원에서 뛰어논다",
    "red-rose-ko": "비 오는 날의 빨간 장미",
    "blue-sky-ko": "파란 하늘과 하얀 구름",
    "snow-village-ko": "눈 내리는 겨울 마을",
    "busan-sunset": "부산 해변의 일몰",
    "gyeongju-ko": "경주의 불국사",
    "seoul-ko": "서울 야경, 한강 다리",
    "dragon-ko": "산 위를 나는 용, 판타지 그림",
    "hanbok-ko": "한복을 입은 여인의 초상화",
    "tiger-ko": "소나무 아래 호랑이, 수채화",
    # English prompts
    "cat-sofa": "a cat sleeping on a sofa",
    "seoul-en": "Seoul skyline at night, neon lights",
    "gyeongju-en": "Gyeongju temple at dawn",
    "hanbok-en": "a woman in hanbok, watercolor portrait",
    "cyberpunk-en": "cyberpunk city street with neon lights",
    "stars-en": "night sky full of stars over the lake",
    "dog-beach-en": "a dog running on the beach at sunset",
    "red-car-en": "a red sports car in the rain",
    "owl-en": "an owl in a dark forest, oil painting",
    "kimchi-en": "a bowl of kimchi and bibimbap, food photo",
}

#: query, the prompts it must find, the prompts it must not find
CASES: list[tuple[str, set[str], set[str]]] = [
    # a word that is only part of a Korean compound
    ("카페 커피", {"cat-cafe"}, {"cat-cafe-sign", "coffee-beans"}),
    ("고양이 커피", {"cat-cafe"}, {"cat-cafe-sign", "cat-sofa"}),
    ("하늘", {"night-sky", "blue-sky-ko"}, {"doing"}),
    ("하늘 별", {"night-sky"}, {"blue-sky-ko"}),
    ("별빛 캠핑", {"night-sky"}, set()),
    ("벚꽃 벤치", {"cherry-bench"}, set()),
    ("나무 벤치", {"cherry-bench"}, {"tiger-ko"}),
    ("마을 골목", {"hanok-alley"}, {"snow-village-ko"}),
    ("잎 공원", {"maple-park"}, {"puppy-park"}),
    ("모래 파도", {"sandcastle"}, set()),
    # Korean finds English
    ("고양이", {"cat-cafe", "cat-cafe-sign", "cat-sofa"}, {"puppy-park"}),
    ("소파 고양이", {"cat-sofa"}, {"cat-cafe"}),
    ("서울 밤", {"seoul-en"}, {"stars-en"}),
    ("경주 사원", {"gyeongju-en"}, set()),
    ("한복 수채화", {"hanbok-en"}, {"tiger-ko"}),
    ("사이버펑크 도시", {"cyberpunk-en"}, set()),
    ("밤하늘 호수", {"stars-en"}, set()),
    ("강아지 해변", {"dog-beach-en"}, {"puppy-park", "busan-sunset"}),
    ("빨간 자동차", {"red-car-en"}, {"red-rose-ko"}),
    ("부엉이 숲", {"owl-en"}, set()),
    ("김치 비빔밥", {"kimchi-en"}, set()),
    # English finds Korean
    ("cute puppy", {"puppy-park"}, {"dog-beach-en"}),
    ("red rose rain", {"red-rose-ko"}, {"red-car-en"}),
    ("blue sky clouds", {"blue-sky-ko"}, set()),
    ("snow winter village", {"snow-village-ko"}, set()),
    ("busan beach sunset", {"busan-sunset"}, {"dog-beach-en"}),
    ("gyeongju", {"gyeongju-ko", "gyeongju-en"}, set()),
    ("seoul bridge", {"seoul-ko"}, {"seoul-en"}),
    ("dragon fantasy", {"dragon-ko"}, set()),
    ("hanbok portrait", {"hanbok-ko", "hanbok-en"}, set()),
    ("tiger pine", {"tiger-ko"}, set()),
    ("night sky", {"night-sky", "stars-en"}, {"seoul-en"}),
    ("cat cafe", {"cat-cafe", "cat-cafe-sign"}, {"cat-sofa"}),
    # one syllable of the lexicon is a word, not a part: "sun" is not 해변 (beach)
    ("sun", set(), {"busan-sunset", "dog-beach-en"}),
]


# -- the OpenSearch side: its bodies against the corpus' documents -------------------


def _field_terms(field: str, text: str) -> set[str]:
    if field == "prompt":  # Nori (+ Latin stems), stood in for by the shared analyser
        return {t.term for t in analyze(text)}
    if field == "prompt.en":  # `english`: standard words, stop words out, stems
        return {english_term(w.term) or "" for w in raw_words(text)} - {""}
    if field == GRAMS_FIELD:  # whitespace
        return set(text.split())
    raise AssertionError(f"a field the model does not know: {field}")


def opensearch_matches(clause: dict[str, Any], source: dict[str, Any]) -> bool:
    """Whether the document `source` matches `clause` (the query types bodies use)."""
    ((kind, spec),) = clause.items()
    if kind == "bool":
        musts = [*spec.get("filter", []), *spec.get("must", [])]
        if not all(opensearch_matches(c, source) for c in musts):
            return False
        should = spec.get("should", [])
        wanted = spec.get("minimum_should_match", 0 if musts else 1) if should else 0
        return sum(opensearch_matches(c, source) for c in should) >= wanted
    if kind == "term":
        ((field, value),) = spec.items()
        return source[field] == value
    if kind == "multi_match":
        assert spec["operator"] == "and" and spec["type"] == "most_fields"
        return any(
            (wanted := _field_terms(f, spec["query"]))
            and wanted <= _field_terms(f, source[f.split(".")[0]])
            for f in spec["fields"]
        )
    if kind == "match":
        ((field, options),) = spec.items()
        assert options["operator"] == "and"
        wanted = _field_terms(field, options["query"])
        return bool(wanted) and wanted <= _field_terms(field, source[field])
    raise AssertionError(f"a query type the model does not know: {kind}")


# -- the cases, on both engines -------------------------------------------------------


@pytest.fixture(scope="module")
def corpus() -> dict[str, Any]:
    tenant = new_tenant()
    docs = {name: make_doc(tenant, prompt) for name, prompt in CORPUS.items()}
    return {"tenant": tenant, "docs": docs}


@pytest.fixture
async def embedded(tmp_path, corpus):
    engine = EmbeddedEngine(tmp_path / "index.sqlite")
    await engine.start()
    await engine.upsert(list(corpus["docs"].values()))
    yield engine
    await engine.close()


def _names(corpus: dict[str, Any], image_ids: set[str]) -> set[str]:
    return {n for n, d in corpus["docs"].items() if d.image_id in image_ids}


async def embedded_finds(engine: EmbeddedEngine, corpus: dict[str, Any], text: str) -> set[str]:
    hits = await engine.search(ImageQuery(tenant_id=corpus["tenant"], text=text, limit=100))
    return _names(corpus, {h.doc.image_id for h in hits.items})


def opensearch_finds(corpus: dict[str, Any], text: str) -> set[str]:
    body = search_body(ImageQuery(tenant_id=corpus["tenant"], text=text, limit=100)).body
    found = {
        d.image_id
        for d in corpus["docs"].values()
        if opensearch_matches(body["query"], document(d))
    }
    return _names(corpus, found)


@pytest.mark.parametrize(("text", "wanted", "unwanted"), CASES, ids=[c[0] for c in CASES])
async def test_both_engines_find_across_compounds_and_languages(
    embedded, corpus, text, wanted, unwanted
):
    found = await embedded_finds(embedded, corpus, text)
    assert wanted <= found, f"embedded misses {wanted - found}"
    assert not found & unwanted, f"embedded also finds {found & unwanted}"
    assert opensearch_finds(corpus, text) == found


async def test_the_cross_language_match_ranks_below_the_same_language_one(embedded, corpus):
    hits = await embedded.search(ImageQuery(tenant_id=corpus["tenant"], text="하늘", limit=10))
    names = [n for h in hits.items for n in _names(corpus, {h.doc.image_id})]
    # a prompt with the word itself before one that has it only inside a compound
    assert names.index("blue-sky-ko") < names.index("night-sky")


async def test_without_the_lexicon_and_romanization_the_languages_do_not_meet(
    embedded, corpus, monkeypatch
):
    """The cross-language cases depend on the plan's alternatives (a check that the
    cases above test something): with typed words only, they find nothing."""
    from pingvas_search.engine import plan

    real = plan._group

    def typed_only(word: str) -> plan.Group | None:
        group = real(word)
        return None if group is None else plan.Group(word, group.alternatives[:1])

    monkeypatch.setattr(plan, "_group", typed_only)
    monkeypatch.setattr(plan, "_phrase", lambda first, second: None)
    for text in ("소파 고양이", "cute puppy", "경주 사원", "busan beach sunset"):
        assert await embedded_finds(embedded, corpus, text) == set()
        assert opensearch_finds(corpus, text) == set()
