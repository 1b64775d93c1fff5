"""Field-weighted search: a name or a capability tag counts above a passing mention in a long
description, a stop word alone matches nothing, and a document must hold the words asked for."""

from __future__ import annotations

from matchmaker.text import FieldedIndex, query_units, search_features

WEIGHTS = {"name": 3.0, "tags": 2.0, "body": 1.0}

DOCS = [
    (
        1,
        {
            "name": "High-bandwidth mixed-signal oscilloscope 高带宽混合信号示波器",
            "tags": "signal integrity 信号完整性",
            "body": "8 GHz bandwidth with serial bus decoding.",
        },
    ),
    (
        2,
        {
            "name": "Field-emission transmission electron microscope 场发射透射电镜",
            "tags": "TEM analysis failure analysis 失效分析",
            "body": "Atomic-resolution imaging of the device and of the parts of the board; bring your own "
            "samples, and an oscilloscope trace of the failing pin if there is one, to the briefing.",
        },
    ),
    (
        3,
        {
            "name": "Semiconductor industry fund 半导体产业基金",
            "tags": "venture capital 风险投资",
            "body": "Invests in mass production of chips for the industry and the start-ups of the space.",
        },
    ),
    (
        4,
        {
            "name": "Orbitrap HRMS 轨道阱高分辨质谱",
            "tags": "mass spectrometry 质谱",
            "body": "Proteomics and metabolomics for the teams of the space.",
        },
    ),
]


def index() -> FieldedIndex:
    return FieldedIndex(DOCS, WEIGHTS)


def test_a_word_in_the_name_outranks_the_same_word_in_a_long_description() -> None:
    hits = index().search("oscilloscope", relative=0.0)
    scores = {h.key: h.score for h in hits}
    assert hits[0].key == 1
    # The TEM only mentions one in its description: whatever its cosine there, that field is a sixth.
    assert scores[2] <= WEIGHTS["body"] / sum(WEIGHTS.values()) < scores[1]


def test_a_capability_tag_outranks_a_passing_mention() -> None:
    hits = index().search("mass spectrometry", relative=0.0)
    scores = {h.key: h.score for h in hits}
    assert hits[0].key == 4
    assert scores.get(3, 0.0) < scores[4] / 3  # "mass production" of a fund is not mass spectrometry


def test_a_stop_word_alone_matches_nothing() -> None:
    assert index().search("of the") == []
    assert index().search("for") == []
    assert search_features("the and of") == []
    assert query_units("the fund of") == [query_units("fund")[0]]


def test_a_document_holding_only_some_of_the_words_asked_for_ranks_below_one_holding_all() -> None:
    idx = index()
    both = idx.coverage("mass spectrometry")
    assert both[3] == 1.0  # the Orbitrap holds both words
    assert both[2] == 0.5  # the fund holds "mass" only
    assert idx.search("质谱")[0].key == 4


def test_a_whole_chinese_sentence_still_finds_what_it_names() -> None:
    hits = index().search("我们团队需要做芯片失效分析")
    assert hits and hits[0].key == 2
