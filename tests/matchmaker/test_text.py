"""Bilingual text matching without a tokenizer."""

from __future__ import annotations

from matchmaker.text import TextIndex, expand_query, features

DOCS = [
    (1, "场发射扫描电子显微镜 SEM 高分辨形貌观察 failure analysis"),
    (2, "引线键合机 wire bonder 金线 铜线 封装"),
    (3, "高效液相色谱仪 HPLC 纯度分析"),
    (4, "机器视觉 检测平台"),
]


def test_chinese_is_indexed_by_overlapping_character_bigrams() -> None:
    assert features("扫描电镜") == ["扫描", "描电", "电镜"]
    assert features("镜") == ["镜"]


def test_english_words_also_yield_trigrams_so_word_forms_meet() -> None:
    bonder = set(features("bonder"))
    bonding = set(features("bonding"))
    assert "w:bonder" in bonder
    assert bonder & bonding  # shared trigrams <bo, bon, ond


def test_full_width_letters_and_case_are_folded() -> None:
    assert features("ＨＰＬＣ") == features("hplc")


def test_a_chinese_query_finds_the_chinese_description() -> None:
    hits = TextIndex(DOCS).search("液相色谱")
    assert [h.key for h in hits] == [3]


def test_an_english_query_ranks_the_matching_instrument_first() -> None:
    hits = TextIndex(DOCS).search("wire bonding")
    assert hits[0].key == 2


def test_the_vocabulary_bridges_english_queries_to_chinese_text() -> None:
    vocabulary = {"machine-vision": ["机器视觉", "machine vision"], "hplc": ["高效液相色谱", "HPLC"]}
    expanded, matched = expand_query("Machine Vision", vocabulary)
    assert matched == ["machine-vision"]
    assert TextIndex(DOCS).search(expanded)[0].key == 4
    assert TextIndex(DOCS).search("Machine Vision") == []  # without the vocabulary nothing matches


def test_vocabulary_terms_match_whole_words_only() -> None:
    _, matched = expand_query("semiconductor", {"sem": ["SEM"]})
    assert matched == []


def test_search_can_be_restricted_to_candidates() -> None:
    hits = TextIndex(DOCS).search("分析", among=[3])
    assert [h.key for h in hits] == [3]


def test_an_empty_index_finds_nothing() -> None:
    assert TextIndex([]).search("anything") == []
