"""The embedded engine's text analysis: Korean morphemes, English stems, offsets, bigrams."""

import random
import re
import threading

from pingvas_search.engine.base import MARK_END, MARK_START
from pingvas_search.engine.text import (
    Token,
    analyze,
    analyze_many,
    get_analyzer,
    hangul_bigrams,
    index_texts,
    raw_words,
    tokens_from_columns,
)


def terms(text: str) -> list[str]:
    return [t.term for t in analyze(text)]


def test_korean_keeps_content_morphemes_with_their_spans():
    text = "귀여운 고양이들이 노는 사진"
    tokens = analyze(text)
    assert tokens == [
        Token("귀엽", 0, 3),
        Token("고양이", 4, 7),
        Token("놀", 10, 11),
        Token("사진", 13, 15),
    ]
    assert [text[t.start : t.end] for t in tokens] == ["귀여운", "고양이", "노", "사진"]


def test_korean_drops_particles_endings_and_bound_nouns():
    assert terms("고양이가 소파 위에서 잠을 잔다") == ["고양이", "소파", "위", "잠", "자"]
    assert "마리" not in terms("3마리의 강아지")  # NNB
    assert terms("3마리의 강아지") == ["3", "강아지"]
    assert terms("아름다운 풍경화를 그려줘")[:3] == ["아름답", "풍경화", "그리"]


def test_english_is_lower_cased_stemmed_and_stop_words_dropped():
    assert terms("a cat on a sofa, cats sleeping") == ["cat", "sofa", "cat", "sleep"]
    assert terms("The Running DOGS") == ["run", "dog"]
    assert terms("the a on in of") == []
    text = "a cat on a sofa, cats sleeping"
    assert [text[t.start : t.end] for t in analyze(text)] == ["cat", "sofa", "cats", "sleeping"]


def test_mixed_prompts_and_full_width_latin():
    assert terms("소파 위의 고양이, a cat sleeping on a sofa") == [
        "소파",
        "위",
        "고양이",
        "cat",
        "sleep",
        "sofa",
    ]
    assert terms("ＣＡＴＳ 고양이") == ["cat", "고양이"]
    assert terms("#고양이 사진") == ["고양이", "사진"]
    assert analyze("#고양이")[0] == Token("고양이", 1, 4)


def test_hanja_and_numbers_are_kept():
    assert "漢字" in terms("漢字 그림")
    assert terms("4k 2025") == ["4", "k", "2025"]


def test_punctuation_and_emoji_give_no_terms():
    for text in ['" OR 1=1 --', "*^()", "😀😀", "", "   ", "ㅋㅋㅋ"]:
        assert [t for t in terms(text) if t not in {"1"}] == [], text


def test_every_term_is_one_fts_token():
    """Terms are alphanumeric runs: FTS5's ascii tokenizer never splits one, and a
    quoted term is never syntax."""
    rnd = random.Random(7)
    alphabet = list("고양이가 cat'sé-_.,:*\"()^가나다 1½ＡＢ漢😀\t\ue000") + ["NEAR", "OR"]
    for _ in range(300):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 40)))
        indexed = index_texts([text])[0]
        for term in [t.term for t in indexed.terms] + indexed.bigrams + indexed.raw:
            assert term and all(c.isalnum() for c in term), (text, term)
            assert not re.search(r"[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]", term)


def test_hangul_bigrams():
    assert hangul_bigrams("고양이들이 cat 꽃") == ["고양", "양이", "이들", "들이", "꽃"]
    assert hangul_bigrams("a cat") == []
    assert hangul_bigrams("풍경화") == ["풍경", "경화"]


def test_raw_words_are_lower_cased_words_as_typed():
    assert [(w.term, w.start, w.end) for w in raw_words("A Cat, 고양이들이!")] == [
        ("a", 0, 1),
        ("cat", 2, 5),
        ("고양이들이", 7, 12),
    ]
    assert [w.term for w in raw_words("tenant_x:*")] == ["tenant", "x"]


def test_index_texts_strip_the_highlight_markers():
    (indexed,) = index_texts([f"{MARK_START}고양이{MARK_END} 그림"])
    assert indexed.terms_column == "고양이 그림"
    assert indexed.raw_column == "고양이 그림"
    assert tokens_from_columns(indexed.terms_column, indexed.spans_column) == indexed.terms


def test_batch_analysis_equals_one_by_one():
    texts = [f"귀여운 고양이 {i}마리가 sleeping cats {i}" for i in range(20)] + [""]
    assert analyze_many(texts) == [analyze(t) for t in texts]


def test_one_analyser_shared_by_threads():
    seen, results = [], []

    def work() -> None:
        seen.append(get_analyzer())
        results.append(terms("귀여운 고양이들이 노는 사진"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(k) for k in seen}) == 1
    assert results == [["귀엽", "고양이", "놀", "사진"]] * 8
