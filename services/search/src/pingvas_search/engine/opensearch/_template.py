"""The index template every generation is created from (analysis, mappings, refresh).

The mapping is strict: a document with a field it does not name is refused, so what
`_documents.document` writes and this mapping must change together.
"""

from __future__ import annotations

from typing import Any

from ._documents import GRAMS_FIELD
from ._names import Names

#: `prompt.raw` keeps prompts up to this many characters (render allows 2,000)
RAW_IGNORE_ABOVE = 2048
#: the template's priority (composable templates with overlapping patterns must differ)
TEMPLATE_PRIORITY = 100

#: nori part-of-speech tags dropped from prompts and queries: endings (E), particles (J),
#: interjections, adverbs and determiners, copulas and auxiliaries, affixes, spaces,
#: punctuation and symbols, and unknown tokens. Kept: nouns (NN*, NP, NR), verb and
#: adjective stems (VV, VA), roots (XR), Hanja (SH), Latin words (SL), numbers (SN).
POS_STOPTAGS = [
    "E",
    "IC",
    "J",
    "MAG",
    "MAJ",
    "MM",
    "NA",
    "SC",
    "SE",
    "SF",
    "SP",
    "SSC",
    "SSO",
    "SY",
    "UNA",
    "VCN",
    "VCP",
    "VSV",
    "VX",
    "XPN",
    "XSA",
    "XSN",
    "XSV",
]


def grams_mapping() -> dict[str, Any]:
    """The `prompt_grams` field (also put into generations made before it existed)."""
    return {
        "properties": {
            GRAMS_FIELD: {
                "type": "text",
                "analyzer": "whitespace",
                "norms": False,
                "index_options": "freqs",
            }
        }
    }


def index_template(prefix: str, shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """The body of `PUT _index_template/<prefix>-template`."""
    names = Names(prefix)
    keyword = {"type": "keyword"}
    stored_only = {"type": "keyword", "index": False, "doc_values": False}

    def prompt_field(*, prefix_field: bool) -> dict[str, Any]:
        fields: dict[str, Any] = {
            # English: possessives, stop words, Porter stemming (cats -> cat)
            "en": {"type": "text", "analyzer": "english"},
            # the prompt as typed: grouping suggestions
            "raw": {"type": "keyword", "ignore_above": RAW_IGNORE_ABOVE},
        }
        if prefix_field:
            # words as typed (lower-cased), for completing what is being typed
            fields["prefix"] = {"type": "search_as_you_type", "analyzer": "prompt_words"}
        return {"type": "text", "analyzer": "korean", "fields": fields}

    return {
        "index_patterns": [names.pattern],
        "priority": TEMPLATE_PRIORITY,
        "template": {
            "settings": {
                "index": {
                    "number_of_shards": shards,
                    "number_of_replicas": replicas,
                    "refresh_interval": "1s",
                },
                "analysis": {
                    "tokenizer": {
                        "korean_nori": {"type": "nori_tokenizer", "decompound_mode": "mixed"}
                    },
                    "filter": {
                        "korean_pos": {"type": "nori_part_of_speech", "stoptags": POS_STOPTAGS},
                        # Latin words inside a Korean prompt: the same stop words and
                        # stems as the `english` analyzer, so a mixed query ("고양이 cats")
                        # matches within the one field
                        "korean_latin_stop": {"type": "stop", "stopwords": "_english_"},
                        "korean_latin_stem": {"type": "stemmer", "language": "english"},
                    },
                    "analyzer": {
                        "korean": {
                            "type": "custom",
                            "tokenizer": "korean_nori",
                            "filter": [
                                "korean_pos",
                                "nori_readingform",
                                "lowercase",
                                "korean_latin_stop",
                                "korean_latin_stem",
                            ],
                        },
                        "prompt_words": {
                            "type": "custom",
                            "tokenizer": "standard",
                            "filter": ["lowercase"],
                        },
                    },
                },
            },
            "mappings": {
                "dynamic": "strict",
                "properties": {
                    "tenant_id": keyword,
                    "image_id": keyword,
                    "job_id": keyword,
                    "user_id": keyword,
                    "api_key_id": keyword,
                    "index": {"type": "integer"},
                    "prompt": prompt_field(prefix_field=True),
                    **grams_mapping()["properties"],
                    "negative_prompt": prompt_field(prefix_field=False),
                    "model": keyword,
                    "scheduler": keyword,
                    "width": {"type": "integer"},
                    "height": {"type": "integer"},
                    "steps": {"type": "integer"},
                    "seed": {"type": "long"},
                    "size_bytes": {"type": "long"},
                    "cfg_scale": {"type": "float"},
                    "png_key": stored_only,
                    "thumbnail_key": stored_only,
                    # nanoseconds: images created within the same millisecond keep their order
                    "created_at": {"type": "date_nanos"},
                },
            },
        },
    }
