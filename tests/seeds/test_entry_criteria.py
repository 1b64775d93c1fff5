"""A space's entry policy becomes one criterion per clause, so a manager ticks each one."""

from __future__ import annotations

from seeds import builders
from seeds.demo import entry_criteria


def test_a_five_clause_policy_becomes_five_criteria_in_both_languages() -> None:
    zh = "一、方向契合\n二、团队\n三、知识产权\n四、进度\n五、程序"
    en = "1. Fit\n2. Team\n3. IP\n4. Progress\n5. Procedure"
    found = entry_criteria(zh, en)
    assert [c["key"] for c in found] == [f"space_rule_{n}" for n in range(1, 6)]
    assert found[2] == {"key": "space_rule_3", "zh": "三、知识产权", "en": "3. IP"}


def test_a_policy_whose_languages_split_differently_stays_whole_beside_the_defaults() -> None:
    found = entry_criteria("一、甲\n二、乙", "1. A, 2. B")
    assert found[:-1] == builders.DEFAULT_ENTRY_CRITERIA
    assert found[-1]["key"] == "space_rules"
