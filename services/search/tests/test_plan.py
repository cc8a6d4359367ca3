"""The query plan both engines share, the lexicon it reads and the grams a prompt is
indexed with (docs/search.md, "How matching works")."""

import pytest
from pingvas_search.engine import plan
from pingvas_search.engine.lexicon import english_key, get_lexicon, parse
from pingvas_search.engine.text import index_texts, romanize


def forms(text: str) -> list[list[str]]:
    p = plan.plan_query(text)
    assert p is not None
    return [[a.text for a in g.alternatives] for g in p.groups]


def test_the_shipped_lexicon_reads_both_ways():
    lexicon = get_lexicon()
    assert len(lexicon.ko_en) >= 300
    assert lexicon.english("고양이") == ("cat", "kitten", "kitty")
    assert "고양이" in lexicon.korean(english_key("cats"))
    assert lexicon.english("귀엽") == ("cute",)  # by its analysed term: "귀엽고"
    assert lexicon.korean(english_key("night skies")) == ("밤하늘",)


def test_a_malformed_lexicon_line_is_refused_with_its_number():
    assert parse("# c\n\n고양이\tcat|kitten\n").english("고양이") == ("cat", "kitten")
    with pytest.raises(ValueError, match=":2:"):
        parse("고양이\tcat\n강아지 dog\n")
    with pytest.raises(ValueError, match=":1:"):
        parse("고양이\t|\n")


def test_every_word_is_a_group_of_its_forms():
    assert forms("귀여운 고양이들") == [
        ["귀여운", "cute", "gwiyeop"],
        ["고양이들", "cat", "kitten", "kitty", "goyangi"],
    ]
    assert forms("cats") == [["cats", "고양이"]]
    # a compound the lexicon does not know: from its parts
    assert forms("고양이카페") == [["고양이카페", "cat cafe", "goyangi kape"]]
    # two English words the lexicon knows together are one group
    assert forms("night sky") == [["night sky", "밤하늘", "night 하늘", "밤 sky"]]
    # Hangul and Latin in one word: only as typed
    assert forms("NEAR(고양이") == [["NEAR(고양이"]]
    assert forms("zzz") == [["zzz"]]


def test_a_stop_word_query_looks_for_its_words_and_punctuation_for_nothing():
    p = plan.plan_query("the a")
    assert p is not None and p.groups == () and p.raw == ("the", "a")
    assert plan.plan_query('"*^') is None


def test_one_syllable_parts_match_compounds_only_when_typed():
    (typed,) = plan.plan_query("별").groups[0].alternatives[:1]  # type: ignore[union-attr]
    assert typed.units[0].grams == (("별",),)
    (group,) = plan.plan_query("sun").groups  # type: ignore[union-attr]
    haes = [a for a in group.alternatives if a.text == "해"]
    assert haes and haes[0].units[0].term == "해" and haes[0].units[0].grams == ()


def test_a_long_query_is_bounded():
    p = plan.plan_query(" ".join(["고양이", "강아지", "하늘", "cats"] * 20 + ["w"] * 3))
    assert p is not None
    assert len(p.groups) <= plan.MAX_GROUPS
    assert all(len(g.alternatives) <= plan.MAX_ALTERNATIVES for g in p.groups)
    assert sum(len(g.alternatives) for g in p.groups) <= plan.MAX_PLAN_ALTERNATIVES


def test_prompt_grams_carry_compound_ends_and_romanized_nouns():
    (text,) = index_texts(["밤하늘의 별빛, 경주"])
    grams = text.bigrams_column.split()
    assert {"밤하", "하늘", "별빛"} <= set(grams)  # bigrams
    assert {"밤", "늘", "별", "빛"} <= set(grams)  # the ends of the compound nouns
    assert {"bamhaneul", "byeolbit", "gyeongju"} <= set(grams)
    # not for verbs and adjectives ("특별한" keeps 특별, a noun; "아름다운" 아름답 does not)
    (adjective,) = index_texts(["아름다운"])
    assert adjective.bigrams_column.split() == ["아름", "름다", "다운"]
    assert romanize("서울") == "seoul" and romanize("cat") is None
