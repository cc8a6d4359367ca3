"""The OpenSearch engine's requests, checked as data (docs/search.md, "OpenSearch").

No OpenSearch runs here: every body the engine sends is built by a pure function in the
private pieces of `pingvas_search.engine.opensearch`, and these tests check those bodies
(the template, the tenant filter and routing of every tenant-scoped request, what user
text may become, cursors, highlights, alias actions, bulk lines). test_opensearch_integration.py runs the
engine against a real cluster when OPENSEARCH_URL is set."""

from __future__ import annotations

import base64
import copy
import json
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pingvas_search.engine import plan
from pingvas_search.engine.base import (
    MARK_END,
    MARK_START,
    EngineUnavailable,
    ImageDoc,
    ImageQuery,
    InvalidCursor,
    Segment,
)
from pingvas_search.engine.opensearch import (
    BulkRejected,
    Names,
    OpenSearchEngine,
    TenantRequest,
)
from pingvas_search.engine.opensearch import _answers as answers
from pingvas_search.engine.opensearch import _bodies as bodies
from pingvas_search.engine.opensearch import _cursors as cursors
from pingvas_search.engine.opensearch import _documents as documents
from pingvas_search.engine.opensearch import _generations as generations
from pingvas_search.engine.opensearch import _highlights as highlights
from pingvas_search.engine.opensearch._documents import GRAMS_FIELD
from pingvas_search.engine.opensearch._template import index_template

T = "tenant-a"
OTHER = "tenant-b"
PREFIX = "pv-test"
AT = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)

CRAFTED = [
    '" OR *:*',
    "tenant_id:other",
    "tenant_id:tenant-b OR tenant_id:*",
    '{"term": {"tenant_id": "tenant-b"}}',
    '{"match_all": {}}',
    "*",
    "고양이) OR (tenant_id:*",
    '\\"}]}}',
    "_all:*",
]


def make_doc(tenant: str = T, prompt: str = "귀여운 고양이들이 노는 사진", **kw: Any) -> ImageDoc:
    image_id = kw.pop("image_id", str(uuid.uuid4()))
    fields: dict[str, Any] = dict(
        tenant_id=tenant,
        image_id=image_id,
        job_id="job-1",
        user_id="user-1",
        api_key_id=None,
        index=0,
        prompt=prompt,
        negative_prompt="blurry",
        model="tiny-sd1",
        width=64,
        height=64,
        seed=42,
        steps=8,
        cfg_scale=7.5,
        scheduler="euler",
        png_key=f"{tenant}/{image_id}.png",
        thumbnail_key=f"{tenant}/{image_id}.webp",
        size_bytes=1234,
        created_at=AT,
    )
    fields.update(kw)
    return ImageDoc(**fields)


# -- helpers -------------------------------------------------------------------------


def walk(node: Any, path: tuple = ()):
    """Every (path, value) of a JSON-like body, leaves and inner nodes."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, (*path, i))


def assert_scoped(req: TenantRequest, tenant: str) -> None:
    """A tenant's request: routed to the tenant, its tenant term first in bool.filter,
    no other mention of a tenant, no query-string syntax anywhere."""
    assert isinstance(req, TenantRequest)
    assert req.params["routing"] == tenant
    bool_ = req.body["query"]["bool"]
    assert bool_["filter"][0] == {"term": {"tenant_id": tenant}}
    tenant_terms = 0
    for path, value in walk(req.body):
        if isinstance(value, dict):
            assert "query_string" not in value and "simple_query_string" not in value, path
            if "tenant_id" in value:
                assert path[-1] == "term" and value == {"tenant_id": tenant}, path
                tenant_terms += 1
        # the bool.filter is the only place the query is narrowed: no must_not, and a
        # should (a word's alternatives) only inside `must`, where at least one of its
        # clauses has to match besides the filter
        if isinstance(value, dict) and "bool" in value:
            assert "must_not" not in value["bool"], path
            if "should" in value["bool"]:
                assert path[:3] == ("query", "bool", "must"), path
                assert value["bool"]["minimum_should_match"] == 1, path
    assert tenant_terms == 1
    json.dumps(req.body)  # plain JSON


def query(**kw: Any) -> ImageQuery:
    return ImageQuery(**{"tenant_id": T, **kw})


# -- the template --------------------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return index_template(PREFIX, shards=3, replicas=1)


def test_the_template_matches_only_this_prefix_generations(template):
    assert template["index_patterns"] == ["pv-test-g*"]
    settings = template["template"]["settings"]
    assert settings["index"]["number_of_shards"] == 3
    assert settings["index"]["number_of_replicas"] == 1
    assert settings["index"]["refresh_interval"] == "1s"


def test_the_korean_analyzer_chain(template):
    analysis = template["template"]["settings"]["analysis"]
    korean = analysis["analyzer"]["korean"]
    tokenizer = analysis["tokenizer"][korean["tokenizer"]]
    assert tokenizer == {"type": "nori_tokenizer", "decompound_mode": "mixed"}
    chain = korean["filter"]
    # part of speech, then Hanja to Hangul, then lower case (then English stops/stems)
    pos = analysis["filter"][chain[0]]
    assert pos["type"] == "nori_part_of_speech"
    assert chain[1:3] == ["nori_readingform", "lowercase"]
    for name in chain[3:]:
        assert analysis["filter"][name]["type"] in {"stop", "stemmer"}
    stoptags = set(pos["stoptags"])
    # particles, endings, punctuation and symbols go
    assert {"J", "E", "SF", "SP", "SC", "SE", "SSO", "SSC", "SY", "XSN"} <= stoptags
    # nouns, verb and adjective stems, roots, Latin words, numbers, Hanja stay
    assert not stoptags & {"NNG", "NNP", "NNB", "NP", "NR", "VV", "VA", "XR", "SL", "SN", "SH"}


def test_every_analyzer_and_filter_used_is_defined(template):
    analysis = template["template"]["settings"]["analysis"]
    builtin_analyzers = {"english", "standard", "whitespace"}
    builtin_filters = {"nori_readingform", "lowercase"}
    for path, value in walk(template["template"]["mappings"]):
        if path and path[-1] == "analyzer":
            assert value in analysis["analyzer"] or value in builtin_analyzers, path
    for analyzer in analysis["analyzer"].values():
        assert analyzer["type"] == "custom"
        assert analyzer["tokenizer"] in analysis["tokenizer"] or analyzer["tokenizer"] == "standard"
        for f in analyzer["filter"]:
            assert f in analysis["filter"] or f in builtin_filters, f


def test_the_prompt_fields(template):
    props = template["template"]["mappings"]["properties"]
    prompt = props["prompt"]
    assert prompt["type"] == "text" and prompt["analyzer"] == "korean"
    assert prompt["fields"]["en"] == {"type": "text", "analyzer": "english"}
    assert prompt["fields"]["raw"]["type"] == "keyword"
    # render allows prompts of 2,000 characters: all of them group suggestions
    assert prompt["fields"]["raw"]["ignore_above"] >= 2000
    assert prompt["fields"]["prefix"]["type"] == "search_as_you_type"
    negative = props["negative_prompt"]
    assert negative["analyzer"] == "korean"
    assert set(negative["fields"]) == {"en", "raw"}


def test_the_mapping_is_strict_and_keys_are_not_indexed(template):
    mappings = template["template"]["mappings"]
    assert mappings["dynamic"] == "strict"
    props = mappings["properties"]
    for key in ("png_key", "thumbnail_key"):
        assert props[key]["index"] is False and props[key]["doc_values"] is False
    for kw in ("tenant_id", "image_id", "job_id", "user_id", "api_key_id", "model", "scheduler"):
        assert props[kw] == {"type": "keyword"}, kw
    assert props["created_at"]["type"] in {"date", "date_nanos"}
    assert props["cfg_scale"]["type"] == "float"
    assert {props[f]["type"] for f in ("width", "height", "steps", "index")} == {"integer"}
    assert {props[f]["type"] for f in ("seed", "size_bytes")} == {"long"}


def test_a_document_has_exactly_the_mapped_fields(template):
    props = template["template"]["mappings"]["properties"]
    body = documents.document(make_doc())
    assert set(body) == set(props)  # a strict mapping would refuse anything else
    assert body["created_at"] == "2025-03-01T12:00:00.123456Z"
    json.dumps(body)


# -- documents and bulk lines --------------------------------------------------------


def test_a_document_round_trips_through_its_source():
    doc = make_doc(user_id=None, api_key_id="key-1", seed=2**40)
    back = documents.doc_from_source(json.loads(json.dumps(documents.document(doc))))
    assert back == doc
    assert back.created_at.tzinfo is not None


def test_a_naive_time_is_taken_as_utc():
    assert documents.iso(datetime(2025, 1, 2, 3, 4, 5)) == "2025-01-02T03:04:05.000000Z"
    kst = datetime(2025, 1, 2, 12, 0, tzinfo=UTC) + timedelta(0)
    assert documents.iso(kst.astimezone()) == "2025-01-02T12:00:00.000000Z"


def test_a_prompt_cannot_forge_a_highlight_marker():
    doc = make_doc(prompt=f"a {MARK_START}cat{MARK_END} here", negative_prompt=MARK_END)
    body = documents.document(doc)
    assert body["prompt"] == "a cat here"
    assert body["negative_prompt"] == ""
    assert MARK_START not in json.dumps(body, ensure_ascii=False)


def test_writes_are_routed_by_tenant_under_tenant_ids():
    docs = [make_doc(T, image_id="i1"), make_doc(OTHER, image_id="i1")]
    ops = documents.index_ops(docs)
    assert [op[0] for op in ops] == [
        {"index": {"_id": "tenant-a/i1", "routing": T}},
        {"index": {"_id": "tenant-b/i1", "routing": OTHER}},
    ]
    assert ops[0][1]["tenant_id"] == T and ops[1][1]["tenant_id"] == OTHER
    dels = documents.delete_ops([(T, "i1"), (OTHER, "i2")])
    assert dels == [
        [{"delete": {"_id": "tenant-a/i1", "routing": T}}],
        [{"delete": {"_id": "tenant-b/i2", "routing": OTHER}}],
    ]


def test_bulk_bodies_are_batched_by_operation():
    ops = documents.index_ops([make_doc(image_id=f"i{i}") for i in range(1201)])
    batches = list(documents.bulk_batches(ops))
    assert [len(b) for b in batches] == [1000, 1000, 402]  # 500 + 500 + 201 operations
    assert "index" in batches[1][0] and batches[1][0]["index"]["_id"] == f"{T}/i500"
    dels = list(documents.bulk_batches(documents.delete_ops([(T, "x")] * 3), size=2))
    assert [len(b) for b in dels] == [2, 1]


def _item(op: str, status: int, error: dict | None = None) -> dict:
    info: dict[str, Any] = {"_id": "x", "status": status}
    if error:
        info["error"] = error
    return {op: info}


def test_bulk_answers():
    assert documents.bulk_outcome({"errors": False, "items": [_item("index", 201)]}) is False
    # deleting what is not there is no error
    missing = {"errors": False, "items": [_item("delete", 404)]}
    assert documents.bulk_outcome(missing) is False
    # the target alias went away: look the targets up again
    gone = _item("index", 404, {"type": "index_not_found_exception", "reason": "no such index"})
    assert documents.bulk_outcome({"errors": True, "items": [gone]}) is True
    busy = _item("index", 429, {"type": "es_rejected_execution_exception", "reason": "queue"})
    with pytest.raises(EngineUnavailable):
        documents.bulk_outcome({"errors": True, "items": [_item("index", 201), busy]})
    bad = _item("index", 400, {"type": "strict_dynamic_mapping_exception", "reason": "nope"})
    with pytest.raises(BulkRejected, match="strict_dynamic_mapping_exception"):
        documents.bulk_outcome({"errors": True, "items": [bad]})


# -- tenant-scoped requests ----------------------------------------------------------

SHAPES = {
    "text": dict(text="귀여운 고양이"),
    "no text": dict(text=""),
    "blank text": dict(text="   "),
    "model": dict(text="cat", model="sdxl"),
    "model, no text": dict(model="sdxl"),
    "since": dict(text="cat", since=AT),
    "until": dict(until=AT),
    "since and until": dict(text="고양이", since=AT - timedelta(days=1), until=AT),
    "newest": dict(text="고양이", sort="newest"),
    "relevance": dict(text="고양이", sort="relevance"),
    "everything": dict(text="고양이 cat", model="m", since=AT, until=AT, sort="newest", limit=100),
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
@pytest.mark.parametrize("with_cursor", [False, True], ids=["first page", "cursor"])
def test_every_search_is_scoped_to_its_tenant(shape, with_cursor):
    q = query(**SHAPES[shape])
    after = None
    if with_cursor:
        values = [1.5, 10**18, "img"] if bodies.effective_sort(q) == "relevance" else [10**18, "i"]
        after = cursors.decode_cursor(cursors.encode_cursor(q, values), q)
    req = bodies.search_body(q, after=after)
    assert_scoped(req, T)
    if with_cursor:
        assert req.body["search_after"] == after
    else:
        assert "search_after" not in req.body


@pytest.mark.parametrize("prefix", ["", "고양", "a ca", "   "])
def test_every_suggest_is_scoped_to_its_tenant(prefix):
    assert_scoped(bodies.suggest_body(T, prefix, 8), T)


def test_count_and_delete_tenant_are_scoped():
    assert_scoped(bodies.count_body(T), T)
    req = bodies.delete_tenant_body(T)
    assert_scoped(req, T)
    assert req.params["conflicts"] == "proceed"
    assert "refresh" not in req.params
    assert bodies.delete_tenant_body(T, refresh=True).params["refresh"] == "true"


def test_a_tenant_scoped_request_needs_a_tenant():
    for bad in ("", None):
        with pytest.raises(ValueError):
            bodies.tenant_request(bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            bodies.search_body(ImageQuery(tenant_id=bad))  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            bodies.count_body(bad)  # type: ignore[arg-type]


def test_the_same_query_of_two_tenants_differs_only_in_the_tenant():
    a = bodies.search_body(query(text="고양이", model="m"))
    b = bodies.search_body(ImageQuery(tenant_id=OTHER, text="고양이", model="m"))
    assert a.params == {"routing": T} and b.params == {"routing": OTHER}
    assert json.dumps(a.body).replace(T, OTHER) == json.dumps(b.body)


#: where the text of a search may appear: a multi_match's or a grams match's query
TEXT_PLACES = {("multi_match", "query"), (GRAMS_FIELD, "query")}


def _strings(node: Any) -> list[tuple[tuple[Any, ...], str]]:
    return [(p, v) for p, v in walk(node) if isinstance(v, str)]


@pytest.mark.parametrize("crafted", CRAFTED)
def test_user_text_is_only_ever_a_query_value(crafted):
    for text in (crafted, f"고양이 {crafted}"):
        req = bodies.search_body(query(text=text, model="m"))
        assert_scoped(req, T)
        benign = bodies.search_body(query(text="zzz", model="m"))
        # the text's only traces: query values of multi_match and the grams' match,
        # every other string of the body is one of the builder's own
        must = req.body["query"]["bool"]["must"]
        for path, value in _strings(must):
            if path[-2:] not in TEXT_PLACES:
                assert value in {"most_fields", "and", *bodies.SEARCH_FIELDS}, (path, value)
        outside = copy.deepcopy(req.body)
        outside["query"]["bool"]["must"] = benign.body["query"]["bool"]["must"]
        assert outside == benign.body

        sreq = bodies.suggest_body(T, text, 8)
        assert_scoped(sreq, T)
        places = [p for p, v in walk(sreq.body) if isinstance(v, str) and v == text.strip()]
        assert places == [("query", "bool", "must", 0, "multi_match", "query")]
        swapped = copy.deepcopy(sreq.body)
        swapped["query"]["bool"]["must"][0]["multi_match"]["query"] = "zzz"
        assert swapped == bodies.suggest_body(T, "zzz", 8).body


def test_a_model_is_a_term_and_times_a_range():
    req = bodies.search_body(
        query(text="cat", model='sdxl" OR *', since=AT, until=AT + timedelta(hours=1))
    )
    filters = req.body["query"]["bool"]["filter"]
    assert filters[1] == {"term": {"model": 'sdxl" OR *'}}
    assert filters[2] == {
        "range": {
            "created_at": {
                "gte": "2025-03-01T12:00:00.123456Z",
                "lt": "2025-03-01T13:00:00.123456Z",
            }
        }
    }


def _mm(text: str) -> dict[str, Any]:
    return {
        "multi_match": {
            "query": text,
            "type": "most_fields",
            "operator": "and",
            "fields": ["prompt", "prompt.en"],
        }
    }


def _grams(grams: str) -> dict[str, Any]:
    return {"match": {GRAMS_FIELD: {"query": grams, "operator": "and", "boost": 0.3}}}


def _any(*clauses: dict[str, Any]) -> dict[str, Any]:
    return {"bool": {"should": list(clauses), "minimum_should_match": 1}}


def test_text_search_is_and_over_words_or_over_their_forms():
    body = bodies.search_body(query(text="  귀여운   고양이 ")).body
    cute, cat = body["query"]["bool"]["must"]
    # each word as typed (the analysed prompt, or all its syllable bigrams), its
    # lexicon renderings and its romanization
    assert cute == _any(
        _any(_mm("귀여운"), _grams("귀여 여운")),
        _any(_mm("cute"), _grams("cute")),
        _any(_mm("gwiyeop"), _grams("gwiyeop")),
    )
    assert cat == _any(
        _any(_mm("고양이"), _grams("고양 양이")),
        _any(_mm("cat"), _grams("cat")),
        _any(_mm("kitten"), _grams("kitten")),
        _any(_mm("kitty"), _grams("kitty")),
        _any(_mm("goyangi"), _grams("goyangi")),
    )
    # an English word: its Korean renderings
    (sofa,) = bodies.search_body(query(text="sofas")).body["query"]["bool"]["must"]
    assert sofa == _any(_any(_mm("sofas"), _grams("sofas")), _any(_mm("소파"), _grams("소파")))
    # a word with no other form is one clause; a stop-word-only query its words
    (word,) = bodies.search_body(query(text="zzz")).body["query"]["bool"]["must"]
    assert word == _any(_mm("zzz"), _grams("zzz"))
    assert bodies.search_body(query(text="the a")).body["query"]["bool"]["must"] == [_mm("the a")]
    assert body["sort"] == [{"_score": "desc"}, {"created_at": "desc"}, {"image_id": "desc"}]
    assert body["track_total_hits"] == bodies.TOTAL_HITS_CAP == 10_000
    assert body["size"] == 25  # one more than the limit: is there a next page?
    hl = body["highlight"]
    assert hl["pre_tags"] == [MARK_START] and hl["post_tags"] == [MARK_END]
    assert hl["number_of_fragments"] == 0
    assert set(hl["fields"]) == {"prompt", "prompt.en"}


def test_newest_first_sorts_by_time_then_id():
    body = bodies.search_body(query(text="고양이", sort="newest")).body
    assert body["sort"] == [{"created_at": "desc"}, {"image_id": "desc"}]
    assert body["track_scores"] is True


def test_an_empty_query_lists_newest_first_without_matching_or_highlighting():
    for sort in ("relevance", "newest"):
        body = bodies.search_body(query(text=" ", sort=sort)).body
        assert "must" not in body["query"]["bool"]
        assert body["sort"] == [{"created_at": "desc"}, {"image_id": "desc"}]
        assert "highlight" not in body


def test_a_huge_query_is_cut_to_what_opensearch_takes():
    text = "고양이 " * 300 + " ".join(f"w{i}" for i in range(200)) + " 강아지 " * 100
    must = bodies.search_body(query(text=text)).body["query"]["bool"]["must"]
    assert len(must) == plan.MAX_GROUPS
    assert "고양이" in json.dumps(must[0], ensure_ascii=False)
    assert json.dumps(must, ensure_ascii=False).count('"고양이"') == 1
    # far below OpenSearch's 1,024 clauses, even with a lexicon word in every place
    many = bodies.search_body(query(text=" ".join(["고양이", "강아지", "하늘", "cats"] * 20)))
    # (a multi_match is a clause per field)
    paths = [p[-1] for p, _ in walk(many.body) if p and p[-1] in ("multi_match", "match")]
    assert 2 * paths.count("multi_match") + paths.count("match") < 1024
    assert len(bodies.normalize_text("a" * 5000)) == bodies.MAX_QUERY_CHARS


def test_page_sizes_are_bounded():
    assert bodies.search_body(query(limit=0)).body["size"] == 2
    assert bodies.search_body(query(limit=10**6)).body["size"] == bodies.MAX_PAGE + 1


# -- cursors -------------------------------------------------------------------------


def test_a_cursor_round_trips_and_is_url_safe():
    q = query(text="고양이", model="m", since=AT)
    cursor = cursors.encode_cursor(q, [2.75, 1740830400123456000, "img-9"])
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert cursors.decode_cursor(cursor, q) == [2.75, 1740830400123456000, "img-9"]
    # the page size may change between pages
    assert cursors.decode_cursor(cursor, query(text="고양이", model="m", since=AT, limit=5))
    # the same words, spaced differently, are the same query
    assert cursors.decode_cursor(cursor, query(text=" 고양이 ", model="m", since=AT))


@pytest.mark.parametrize(
    "other",
    [
        dict(tenant_id=OTHER),
        dict(text="강아지"),
        dict(model="sdxl"),
        dict(model=None),
        dict(since=AT + timedelta(microseconds=1)),
        dict(until=AT),
        dict(sort="newest"),
    ],
)
def test_a_cursor_of_another_query_or_tenant_is_refused(other):
    q = query(text="고양이", model="m", since=AT)
    cursor = cursors.encode_cursor(q, [2.75, 1, "img"])
    with pytest.raises(InvalidCursor):
        cursors.decode_cursor(cursor, ImageQuery(**{**q.__dict__, **other}))


def _forge(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "bad",
    [
        "not-a-cursor",
        "e30",  # {}
        "{}{}",
        "@@@@",
        "x" * 5000,
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "W10",  # []
    ],
)
def test_garbage_is_not_a_cursor(bad):
    with pytest.raises(InvalidCursor):
        cursors.decode_cursor(bad, query(text="고양이"))


def test_a_cursor_must_hold_the_sort_values_of_its_sort():
    q = query(text="고양이")
    fp = cursors.query_fingerprint(q)
    assert cursors.decode_cursor(_forge({"a": [1.0, 5, "i"], "q": fp}), q) == [1.0, 5, "i"]
    for after in ([1.0, 5], [1.0, 5, 7], ["x", 5, "i"], [True, 5, "i"], [1.0, {"a": 1}, "i"]):
        with pytest.raises(InvalidCursor):
            cursors.decode_cursor(_forge({"a": after, "q": fp}), q)
    newest = query(text="")
    fp = cursors.query_fingerprint(newest)
    assert cursors.decode_cursor(_forge({"a": [5, "i"], "q": fp}), newest) == [5, "i"]
    with pytest.raises(InvalidCursor):
        cursors.decode_cursor(_forge({"a": [1.0, 5, "i"], "q": fp}), newest)


# -- answers -------------------------------------------------------------------------


def _hit(doc: ImageDoc, sort: list, score: float | None = 1.0, highlight: dict | None = None):
    hit: dict[str, Any] = {
        "_index": "pv-test-g1",
        "_id": documents.doc_id(doc.tenant_id, doc.image_id),
        "_routing": doc.tenant_id,
        "_score": score,
        "_source": documents.document(doc),
        "sort": sort,
    }
    if highlight is not None:
        hit["highlight"] = highlight
    return hit


def test_a_page_with_more_behind_it_carries_a_cursor_from_its_last_hit():
    q = query(text="고양이", limit=2)
    docs = [make_doc(image_id=f"i{i}") for i in range(3)]
    resp = {
        "hits": {
            "total": {"value": 7, "relation": "eq"},
            "hits": [
                _hit(d, [3.0 - i, 1000 - i, d.image_id], score=3.0 - i) for i, d in enumerate(docs)
            ],
        }
    }
    page = answers.parse_search(resp, q)
    assert [h.doc for h in page.items] == docs[:2]
    assert page.total == 7
    assert [h.score for h in page.items] == [3.0, 2.0]
    assert cursors.decode_cursor(page.next_cursor, q) == [2.0, 999, "i1"]
    # exactly the limit: the last page
    resp["hits"]["hits"] = resp["hits"]["hits"][:2]
    assert answers.parse_search(resp, q).next_cursor is None


def test_an_unmatched_listing_has_no_scores_and_plain_prompts():
    q = query(text="")
    doc = make_doc(prompt="첫 그림")
    resp = {"hits": {"total": {"value": 1}, "hits": [_hit(doc, [1, "i"], score=None)]}}
    (hit,) = answers.parse_search(resp, q).items
    assert hit.score is None
    assert hit.highlight == [Segment("첫 그림", False)]


def test_highlights_of_both_fields_are_merged():
    prompt = "a cat on a sofa, cats sleeping"
    q = query(text="cats")
    doc = make_doc(prompt=prompt)
    s, e = MARK_START, MARK_END
    resp = {
        "hits": {
            "total": {"value": 1},
            "hits": [
                _hit(
                    doc,
                    [1.0, 1, "i"],
                    highlight={
                        "prompt": [f"a {s}cat{e} on a sofa, cats sleeping"],
                        "prompt.en": [f"a cat on a sofa, {s}cats{e} sleeping"],
                    },
                )
            ],
        }
    }
    (hit,) = answers.parse_search(resp, q).items
    assert hit.highlight == [
        Segment("a ", False),
        Segment("cat", True),
        Segment(" on a sofa, ", False),
        Segment("cats", True),
        Segment(" sleeping", False),
    ]


def test_a_highlight_that_is_not_the_prompt_is_ignored():
    segs = highlights.highlight_segments("고양이 그림", [f"{MARK_START}강아지{MARK_END}"])
    assert segs == [Segment("고양이 그림", False)]
    assert highlights.highlight_segments("", ["x"]) == []


def test_a_long_prompt_is_cut_around_its_first_match():
    before = " ".join(["푸른 하늘 아래 넓은 들판"] * 20)
    prompt = f"{before} 고양이 한 마리가 잠을 잔다 {before}"
    at = prompt.index("고양이")
    marked = f"{prompt[:at]}{MARK_START}고양이{MARK_END}{prompt[at + 3 :]}"
    segs = highlights.highlight_segments(prompt, [marked])
    text = "".join(s.text for s in segs)
    assert [s.text for s in segs if s.match] == ["고양이"]
    assert text.startswith("…") and text.endswith("…")
    assert len(text) <= highlights.HIGHLIGHT_WINDOW + 2
    assert text.strip("…") in prompt
    # it begins and ends at whole words
    assert text[1] != " " and prompt[prompt.index(text.strip("…")) - 1] == " "
    # without a match: the start of the prompt
    segs = highlights.highlight_segments(prompt, [])
    text = "".join(s.text for s in segs)
    assert len(segs) == 1 and not segs[0].match
    assert prompt.startswith(text.rstrip("…")) and text.endswith("…")


# -- suggest -------------------------------------------------------------------------


def test_suggest_completes_the_typed_words_and_groups_by_prompt():
    req = bodies.suggest_body(T, "귀여운 고", 5)
    (mm,) = req.body["query"]["bool"]["must"]
    assert mm["multi_match"]["type"] == "bool_prefix"
    assert mm["multi_match"]["operator"] == "and"
    assert mm["multi_match"]["query"] == "귀여운 고"
    assert mm["multi_match"]["fields"][0] == "prompt.prefix"
    terms = req.body["aggs"]["prompts"]["terms"]
    assert terms["field"] == "prompt.raw"
    assert terms["order"] == [{"_count": "desc"}, {"latest": "desc"}]
    assert terms["size"] == 6
    assert req.body["aggs"]["prompts"]["aggs"]["latest"] == {"max": {"field": "created_at"}}
    assert req.body["size"] == 0


def test_suggest_without_a_prefix_gives_the_most_recent_prompts():
    req = bodies.suggest_body(T, "  ", 3)
    assert "must" not in req.body["query"]["bool"]
    assert req.body["aggs"]["prompts"]["terms"]["order"] == [{"latest": "desc"}]


def test_suggestions_from_buckets():
    resp = {
        "aggregations": {
            "prompts": {
                "buckets": [
                    {"key": "고양이 그림", "doc_count": 3, "latest": {"value": 2.0}},
                    {"key": "", "doc_count": 9, "latest": {"value": 3.0}},
                    {"key": "귀여운 고양이들이", "doc_count": 1, "latest": {"value": 1.0}},
                    {"key": "고양이 사진", "doc_count": 1, "latest": {"value": 1.0}},
                ]
            }
        }
    }
    got = answers.parse_suggest(resp, "고양", 2)
    assert [(s.prompt, s.images) for s in got] == [("고양이 그림", 3), ("귀여운 고양이들이", 1)]
    assert got[1].highlight == [
        Segment("귀여운 ", False),
        Segment("고양", True),
        Segment("이들이", False),
    ]


def test_suggestion_highlights():
    segs = highlights.suggestion_segments("A Cat on a sofa", "a ca")
    assert [s.text for s in segs if s.match] == ["A", "Ca", "a"]
    assert "".join(s.text for s in segs) == "A Cat on a sofa"
    assert highlights.suggestion_segments("고양이 그림", "") == [Segment("고양이 그림", False)]
    long = "고양이 " * 200
    assert "".join(s.text for s in highlights.suggestion_segments(long, "고")) == long


# -- generations and aliases ---------------------------------------------------------


def test_names():
    n = Names("pv-test")
    assert (n.template, n.pattern, n.read, n.write) == (
        "pv-test-template",
        "pv-test-g*",
        "pv-test-read",
        "pv-test-write",
    )
    assert n.generation(3) == "pv-test-g3" and n.number("pv-test-g3") == 3
    assert n.write_alias("pv-test-g3") == "pv-test-write-g3"
    for foreign in ("pv-test-x", "other-g1", "pv-test-g1-old", "pv-test-write-g1"):
        assert n.number(foreign) is None
        with pytest.raises(ValueError):
            n.write_alias(foreign)
    for bad in ("", "UPPER", "a b", "-x", "a/b", "a*"):
        with pytest.raises(ValueError):
            Names(bad)


def test_the_first_generation_is_read_and_written():
    assert generations.next_generation(Names(PREFIX), {}) == "pv-test-g1"
    body = generations.create_generation_body(PREFIX, "pv-test-g1", read=True)
    assert body == {"aliases": {"pv-test-read": {}, "pv-test-write": {}, "pv-test-write-g1": {}}}


def test_begin_reindex_adds_a_written_unread_generation():
    state = {"pv-test-g4": {"pv-test-read", "pv-test-write", "pv-test-write-g4"}, "x-g9": set()}
    state = generations.alias_state(
        Names(PREFIX), {i: {"aliases": {a: {} for a in s}} for i, s in state.items()}
    )
    assert list(state) == ["pv-test-g4"]  # another prefix's index is not ours
    gen = generations.next_generation(Names(PREFIX), state)
    assert gen == "pv-test-g5"
    assert generations.begin_reindex_body(PREFIX, gen) == {
        "aliases": {"pv-test-write": {}, "pv-test-write-g5": {}}
    }


STATE = {
    "pv-test-g1": {"pv-test-read", "pv-test-write", "pv-test-write-g1"},
    "pv-test-g2": {"pv-test-write", "pv-test-write-g2"},
    "pv-test-g3": set(),  # an orphan: not ours to drop
}


def test_finish_reindex_moves_the_read_alias_and_drops_the_old_generation_at_once():
    body = generations.finish_reindex_actions(PREFIX, "pv-test-g2", STATE)
    assert body == {
        "actions": [
            {"add": {"index": "pv-test-g2", "alias": "pv-test-read"}},
            {"add": {"index": "pv-test-g2", "alias": "pv-test-write"}},
            {"add": {"index": "pv-test-g2", "alias": "pv-test-write-g2"}},
            {"remove_index": {"index": "pv-test-g1"}},
        ]
    }


def test_abort_reindex_drops_only_that_generation():
    assert generations.abort_reindex_actions(PREFIX, "pv-test-g2", STATE) == {
        "actions": [{"remove_index": {"index": "pv-test-g2"}}]
    }
    with pytest.raises(ValueError):
        generations.abort_reindex_actions(PREFIX, "pv-test-g1", STATE)  # what searches read
    with pytest.raises(ValueError):
        generations.abort_reindex_actions(PREFIX, "someone-else", STATE)


# -- the engine object ---------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_engine_never_shows_its_url():
    engine = OpenSearchEngine("https://admin:s3cret@search.example:9200", index_prefix="pv")
    assert "s3cret" not in repr(engine) and "example" not in repr(engine)
    assert engine.names.read == "pv-read"
    with pytest.raises(ValueError):
        OpenSearchEngine("http://x", index_prefix="Bad Prefix")
    with pytest.raises(ValueError):
        OpenSearchEngine("http://x", refresh="sometimes")


async def test_an_unreachable_cluster_is_unavailable_without_leaking_credentials(caplog):
    url = f"http://admin:s3cret@127.0.0.1:{_closed_port()}"
    engine = OpenSearchEngine(url, index_prefix="pv", timeout_s=2)
    try:
        reason = await engine.check()
        assert reason != "ok" and "s3cret" not in reason and "admin" not in reason
        with pytest.raises(EngineUnavailable) as err:
            await engine.search(query(text="고양이"))
        assert "s3cret" not in str(err.value)
        with pytest.raises(EngineUnavailable):
            await engine.upsert([make_doc()])
        with pytest.raises(EngineUnavailable):
            await engine.start()
        # a bad cursor is refused before anything is sent
        with pytest.raises(InvalidCursor):
            await engine.search(query(text="고양이", cursor="nope"))
    finally:
        await engine.close()
    assert "s3cret" not in caplog.text


def test_the_factory_builds_it_from_the_settings(monkeypatch):
    from pingvas_search.engine import make_engine
    from pingvas_search.settings import Settings

    monkeypatch.setenv("SEARCH_OPENSEARCH_URL", "http://u:p@opensearch:9200")
    monkeypatch.setenv("SEARCH_OPENSEARCH_INDEX_PREFIX", "pv-factory")
    engine = make_engine(Settings())
    assert isinstance(engine, OpenSearchEngine)
    assert engine.name == "opensearch"
    assert engine.names.write == "pv-factory-write"


class _Indices:
    """The few `indices` calls `start` makes, recorded; `get_alias` answers `aliases`."""

    def __init__(self, aliases: dict[str, Any]) -> None:
        self.aliases = aliases
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def put_index_template(self, **kw: Any) -> None:
        self.calls.append(("put_index_template", kw))

    async def get_alias(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("get_alias", kw))
        return self.aliases

    async def put_mapping(self, **kw: Any) -> None:
        self.calls.append(("put_mapping", kw))

    async def create(self, **kw: Any) -> None:
        self.calls.append(("create", kw))


class _Client:
    def __init__(self, aliases: dict[str, Any]) -> None:
        self.indices = _Indices(aliases)

    async def close(self) -> None:
        pass


async def test_start_puts_the_grams_field_into_generations_made_before_it():
    engine = OpenSearchEngine("http://127.0.0.1:9", index_prefix="pv")
    await engine.close()
    old = {
        "pv-g1": {"aliases": {"pv-read": {}, "pv-write": {}, "pv-write-g1": {}}},
        "pv-g2": {"aliases": {"pv-write": {}, "pv-write-g2": {}}},
    }
    engine._client = client = _Client(old)  # type: ignore[assignment]
    await engine.start()
    calls = dict(client.indices.calls)
    template = index_template("pv")["template"]["mappings"]["properties"]
    assert calls["put_mapping"]["index"] == "pv-g1,pv-g2"
    assert calls["put_mapping"]["body"] == {"properties": {GRAMS_FIELD: template[GRAMS_FIELD]}}
    assert "create" not in calls  # the read generation exists

    # a new cluster: the first generation comes from the template, which has the field
    engine._client = client = _Client({})  # type: ignore[assignment]
    await engine.start()
    assert [c for c, _ in client.indices.calls] == ["put_index_template", "get_alias", "create"]
    assert template[GRAMS_FIELD]["analyzer"] == "whitespace"
