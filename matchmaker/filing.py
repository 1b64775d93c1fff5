"""The national basic information form (国家专业化众创空间基础信息表): its fields in the form's order, the
name rule, which answers are missing, and the workbook laid out like the paper form.

Pure: the caller hands in the space's profile and the platform's counts as plain values.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

NAME_SUFFIX = "专业化众创空间"


@dataclass(frozen=True)
class Field:
    key: str
    label_zh: str
    label_en: str
    source: str  # "profile": the space's profile; "platform": counted from the platform's own records
    required: bool = True


FIELDS: tuple[Field, ...] = (
    Field("name", "众创空间名称", "Space name", "profile"),
    Field("founded_on", "成立时间", "Founding date", "profile"),
    Field("operating_entity", "运营主体名称", "Operating entity", "profile"),
    Field("operating_entity_nature", "运营主体性质", "Nature of the operating entity", "profile"),
    Field("legal_representative", "法人代表", "Legal representative", "profile"),
    Field("legal_representative_phone", "联系电话", "Legal representative's phone", "profile"),
    Field("person_in_charge", "负责人", "Person in charge", "profile"),
    Field("person_in_charge_mobile", "联系手机（负责人）", "Person in charge's mobile", "profile"),
    Field("contact_name", "联系人", "Contact", "profile"),
    Field("contact_mobile", "联系手机（联系人）", "Contact's mobile", "profile"),
    Field("address", "单位地址", "Address", "profile"),
    Field("email", "Email", "Email", "profile"),
    Field(
        "built_by_enterprise",
        "是否由高新技术企业或龙头骨干企业建立",
        "Built by a high-tech or leading enterprise",
        "profile",
        required=False,
    ),
    Field("built_by_university", "是否由高校建立", "Built by a university", "profile", required=False),
    Field(
        "built_by_institute", "是否由科研院所建立", "Built by a research institute", "profile", required=False
    ),
    Field("main_direction", "主要专业方向", "Main professional direction", "profile"),
    Field("management_team_size", "管理团队人员总数", "Management team size", "profile"),
    Field(
        "management_team_with_degree", "其中大专以上人数", "Of which with college degree or above", "profile"
    ),
    Field("mentors", "创业导师数", "Mentors", "platform"),
    Field("floor_area_m2", "自主支配场地建筑面积（平方米）", "Floor area under own control (m²)", "profile"),
    Field(
        "public_service_area_m2",
        "公共办公与服务场地面积（平方米）",
        "Public office and service area (m²)",
        "profile",
    ),
    Field(
        "angel_fund_10k_cny",
        "天使投资（种子）基金（资金）规模（万元）",
        "Angel (seed) fund size (10,000 CNY)",
        "platform",
    ),
    Field("resident_projects", "入驻项目数", "Resident projects", "platform"),
    Field("resident_enterprises", "入驻企业数", "Resident enterprises", "platform"),
    Field("events_held", "举办创新创业活动次数", "Innovation and entrepreneurship events held", "platform"),
    Field("online_platform", "是否建有线上服务平台", "Online service platform", "profile"),
    Field(
        "public_tech_platform",
        "是否建有公共技术服务平台",
        "Public technical service platform",
        "profile",
        required=False,
    ),
    Field("management_systems", "管理制度", "Management systems", "profile"),
)
BY_KEY = {f.key: f for f in FIELDS}

NATURES: tuple[tuple[str, str], ...] = (
    ("public_institution", "1、事业单位"),
    ("state_owned_enterprise", "2、企业（国有）"),
    ("private_enterprise", "2、企业（民营）"),
    ("investment_institution", "3、投资机构"),
    ("university", "4、高校"),
    ("social_organization", "5、其它社会组织"),
)
SYSTEMS: tuple[tuple[str, str, str], ...] = (
    ("entry_standards", "入驻标准", "entry standards"),
    ("exit_conditions", "退出条件", "exit conditions"),
    ("project_database", "在孵项目或企业数据库", "database of incubated projects or enterprises"),
)


def check_name(name_zh: str) -> dict[str, Any]:
    """The name must read "XXX专业化众创空间", XXX the niche the space serves (not empty)."""
    niche = name_zh[: -len(NAME_SUFFIX)].strip() if name_zh.endswith(NAME_SUFFIX) else ""
    ok = bool(niche)
    return {
        "ok": ok,
        "niche": niche or None,
        "message_zh": "名称符合“XXX专业化众创空间”的要求。"
        if ok
        else "名称须为“XXX专业化众创空间”，XXX 为专业细分领域。",
        "message_en": "The name follows the 'XXX专业化众创空间' rule."
        if ok
        else "The name must read 'XXX专业化众创空间', XXX being the niche the space serves.",
    }


def _blank(value: Any) -> bool:
    return (
        value is None
        or value == ""
        or (isinstance(value, int | float) and not isinstance(value, bool) and value <= 0)
    )


def missing_fields(values: Mapping[str, Any]) -> list[str]:
    """Required answers the profile leaves empty (a zero area or team size counts as empty), and the
    three "built by" questions when none of them names a builder."""
    missing = [
        f.key
        for f in FIELDS
        if f.required
        and f.source == "profile"
        and f.key not in ("online_platform", "management_systems")
        and _blank(values.get(f.key))
    ]
    if _blank((values.get("online_platform") or {}).get("name")):
        missing.append("online_platform")
    if not any(values.get(k) for k in ("built_by_enterprise", "built_by_university", "built_by_institute")):
        missing.append("built_by")
    systems = values.get("management_systems") or {}
    if not any(systems.get(k) for k, _, _ in SYSTEMS) and not systems.get("other"):
        missing.append("management_systems")
    return missing


# The workbook ----------------------------------------------------------------------------------------


def _box(checked: bool) -> str:
    return "☑" if checked else "☐"


def _yes_no(name: str | None) -> str:
    return f"{_box(bool(name))}是（{name}）  {_box(False)}否" if name else f"{_box(False)}是  {_box(True)}否"


def _text(value: Any) -> Any:
    return "" if value is None else value


def form_rows(values: Mapping[str, Any]) -> list[list[Any]]:
    """The form's rows, six cells wide, as the paper form lays them out: label, answer, label, answer…"""
    nature = values.get("operating_entity_nature")
    natures = "  ".join(f"{_box(nature == key)}{label}" for key, label in NATURES)
    systems = values.get("management_systems") or {}
    system_text = "  ".join(f"{_box(bool(systems.get(k)))}{zh}" for k, zh, _ in SYSTEMS)
    other = systems.get("other")
    system_text += f"  {_box(bool(other))}其他：{other or ''}"
    online = values.get("online_platform") or {}
    return [
        ["众创空间名称", values.get("name"), None, "成立时间", _text(values.get("founded_on")), None],
        ["运营主体名称", values.get("operating_entity"), None, None, None, None],
        ["运营主体性质", natures, None, None, None, None],
        [
            "法人代表",
            values.get("legal_representative"),
            None,
            "联系电话",
            values.get("legal_representative_phone"),
            None,
        ],
        [
            "负责人",
            values.get("person_in_charge"),
            None,
            "联系手机",
            values.get("person_in_charge_mobile"),
            None,
        ],
        ["联系人", values.get("contact_name"), None, "联系手机", values.get("contact_mobile"), None],
        ["单位地址", values.get("address"), None, "Email", values.get("email"), None],
        [
            "是否由高新技术企业或龙头骨干企业建立",
            _yes_no(values.get("built_by_enterprise")),
            None,
            "是否由高校建立",
            _yes_no(values.get("built_by_university")),
            None,
        ],
        ["是否由科研院所建立", _yes_no(values.get("built_by_institute")), None, None, None, None],
        ["主要专业方向", values.get("main_direction"), None, None, None, None],
        [
            "管理团队人员总数",
            values.get("management_team_size"),
            "其中大专以上人数",
            values.get("management_team_with_degree"),
            "创业导师数",
            values.get("mentors"),
        ],
        [
            "自主支配场地建筑面积（平方米）",
            values.get("floor_area_m2"),
            "公共办公与服务场地面积（平方米）",
            values.get("public_service_area_m2"),
            "天使投资（种子）基金（资金）规模（万元）",
            values.get("angel_fund_10k_cny"),
        ],
        [
            "入驻项目数",
            values.get("resident_projects"),
            "入驻企业数",
            values.get("resident_enterprises"),
            "举办创新创业活动次数",
            values.get("events_held"),
        ],
        ["是否建有线上服务平台", _yes_no(online.get("name")), None, None, None, None],
        ["是否建有公共技术服务平台", _yes_no(values.get("public_tech_platform")), None, None, None, None],
        ["管理制度", system_text, None, None, None, None],
    ]


def workbook(values: Mapping[str, Any], missing: Sequence[str], name_check: Mapping[str, Any]) -> bytes:
    """The form as an XLSX workbook: the form sheet, a sheet of what is still missing, and the answers
    as key/value rows for systems that read them back."""
    book = Workbook()
    sheet = book.create_sheet("基础信息表", 0)
    book.remove(book.worksheets[1])  # the blank sheet a new workbook starts with
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    sheet.merge_cells("A1:F1")
    sheet["A1"] = "专业化众创空间基础信息表"
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    for width, column in zip((28, 30, 24, 24, 30, 16), "ABCDEF", strict=True):
        sheet.column_dimensions[column].width = width
    labels = {f.label_zh for f in FIELDS} | {"联系手机", "Email"}
    for r, row in enumerate(form_rows(values), start=2):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c, value=value)
            cell.border = border
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            if value in labels:
                cell.font = Font(bold=True)
        # Answers that the form gives the whole width are merged like on paper.
        if row[2] is None and row[3] is None:
            sheet.merge_cells(start_row=r, start_column=2, end_row=r, end_column=6)
        elif row[2] is None and row[5] is None:
            sheet.merge_cells(start_row=r, start_column=2, end_row=r, end_column=3)
            sheet.merge_cells(start_row=r, start_column=5, end_row=r, end_column=6)
    gaps = book.create_sheet("待补充 Missing")
    gaps.append(["字段", "Field", "说明 Note"])
    gaps.append(["名称规则", "Name rule", f"{name_check['message_zh']} {name_check['message_en']}"])
    for key in missing:
        field = BY_KEY.get(key)
        zh, en = (field.label_zh, field.label_en) if field else ("建设主体", "Built by")
        gaps.append([zh, en, "未填写 Not filled in"])
    data = book.create_sheet("数据 Data")
    data.append(["key", "label_zh", "label_en", "source", "value"])
    for f in FIELDS:
        value = values.get(f.key)
        if isinstance(value, dict):
            value = "; ".join(f"{k}={v}" for k, v in value.items())
        data.append([f.key, f.label_zh, f.label_en, f.source, _text(value)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
