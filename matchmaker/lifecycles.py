"""State machines with one table of legal transitions each; the operations consult these, never ad hoc ifs."""

from __future__ import annotations

from matchmaker.errors import InvalidTransition

NURSERY, INCUBATOR, ACCELERATOR, GRADUATED, EXITED = (
    "nursery",
    "incubator",
    "accelerator",
    "graduated",
    "exited",
)
ACTIVE_STAGES = (NURSERY, INCUBATOR, ACCELERATOR)

STAGE_NAMES = {
    NURSERY: ("nursery", "创业苗圃"),
    INCUBATOR: ("incubator", "孵化器"),
    ACCELERATOR: ("accelerator", "加速器"),
    GRADUATED: ("graduated", "已毕业"),
    EXITED: ("exited", "已退出"),
}

# The incubation chain moves forward one step at a time; a manager may move a team back one step
# (with a reason), graduate it from the accelerator, or exit it from any active stage.
# Graduation and exit are final.
STAGE_TRANSITIONS: dict[str, frozenset[str]] = {
    NURSERY: frozenset({INCUBATOR, EXITED}),
    INCUBATOR: frozenset({NURSERY, ACCELERATOR, EXITED}),
    ACCELERATOR: frozenset({INCUBATOR, GRADUATED, EXITED}),
    GRADUATED: frozenset(),
    EXITED: frozenset(),
}

# Moves that must say why: going back, and leaving.
NEEDS_REASON = frozenset({(INCUBATOR, NURSERY), (ACCELERATOR, INCUBATOR)}) | {
    (s, EXITED) for s in ACTIVE_STAGES
}


def check_stage_change(current: str, target: str, reason: str) -> None:
    """Raise ``InvalidTransition`` unless moving from ``current`` to ``target`` is allowed as asked."""
    if target not in STAGE_TRANSITIONS:
        raise InvalidTransition(
            f"Unknown stage {target!r}.", f"未知阶段“{target}”。", details={"stage": target}
        )
    if target not in STAGE_TRANSITIONS[current]:
        cur_en, cur_zh = STAGE_NAMES[current]
        tgt_en, tgt_zh = STAGE_NAMES[target]
        allowed = sorted(STAGE_TRANSITIONS[current])
        raise InvalidTransition(
            f"A team in the {cur_en} stage cannot move to {tgt_en}.",
            f"处于“{cur_zh}”阶段的团队不能转入“{tgt_zh}”。",
            details={"from": current, "to": target, "allowed": allowed},
        )
    if (current, target) in NEEDS_REASON and not reason.strip():
        raise InvalidTransition(
            "Please give a reason for this change.",
            "请填写此次变更的原因。",
            details={"fields": {"reason": "required"}},
        )


# Admission of an application.
PENDING, ADMITTED, REJECTED = "pending", "admitted", "rejected"
ADMISSION_TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({ADMITTED, REJECTED}),
    ADMITTED: frozenset(),
    REJECTED: frozenset(),
}


def check_admission(current: str, decision: str) -> None:
    if decision not in ADMISSION_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(
            "This application has already been decided.",
            "该入驻申请已经审核过了。",
            details={"admission_status": current},
        )
