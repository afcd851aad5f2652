"""Fields listed in a Chinese or Japanese description: "每个植物有名字、位置和备注",
"各植物には名前と場所があります", "字段：名称、价格、库存".

Each field keeps the description's word as its label; its identifier (ASCII snake_case) and type
come from the language's ``[field_words]`` table, or from how the word ends (日期, 日 -> a date;
价格 -> money; 数 -> a number), with ``field_<n>`` where the word has no table entry.
"""

from __future__ import annotations

import re

from appforge.agent.planners.bare_apps import GENERIC_ENTITY
from appforge.agent.planners.entities import EntityPlan, build_entity
from appforge.agent.planners.plan_words import plan_words
from appforge.spec import EntityField, FieldType

_LISTS = {
    "zh": re.compile(r"(?:每(?:个|個|条|本|件|位|张|只)?\S{0,6}?(?:都)?(?:有|包括|包含|记录)"
                     r"|(?:字段|栏目|信息)(?:有|包括)?[:：])(?P<list>[^。；;！!？?\n]+)"),
    "ja": re.compile(r"(?:(?:各|それぞれの)\S{0,8}?(?:には|に|は)"
                     r"(?P<list>[^。！!？?\n]+?)(?:があります|がある|を記録|を保存|を持|が必要)"
                     r"|(?:項目|フィールド)(?:は)?[:：](?P<list2>[^。！!？?\n]+))"),
}
_SPLIT = re.compile(r"\s*(?:、|，|,|；|和|与|及|以及|と|や|および|及び)\s*")
_ENDINGS = (("日期", FieldType.date), ("日付", FieldType.date), ("日", FieldType.date),
            ("价格", FieldType.money), ("価格", FieldType.money), ("金额", FieldType.money),
            ("数", FieldType.integer))


def cjk_fields(text: str, language: str) -> list[EntityField]:
    """The fields a Chinese or Japanese description lists, in its own words; [] for none."""
    pattern, words = _LISTS.get(language), plan_words(language)
    match = pattern.search(text) if pattern else None
    if not match or not words:
        return []
    table: dict[str, list[str]] = words.get("field_words", {})
    fields: list[EntityField] = []
    for index, item in enumerate(_SPLIT.split(match["list"] or match.groupdict().get("list2")
                                              or ""), start=1):
        item = re.sub(r"^(?:一个|一個|的|の)|(?:等|など)$", "", item.strip(" 　:："))
        if not item or len(item) > 12:
            continue
        name, ftype = table.get(item, (None, None))
        if name is None:
            name = f"field_{index}"
            ftype = next((t.value for end, t in _ENDINGS if item.endswith(end)), "text")
        if name not in {f.name for f in fields}:
            rating = ftype == FieldType.rating.value
            fields.append(EntityField(name=name, label=item, type=FieldType(ftype),
                                      required=not fields, min=1 if rating else None,
                                      max=5 if rating else None))
    return fields


def with_listed_fields(plan: EntityPlan, fields: list[EntityField]) -> EntityPlan:
    """``plan`` with its first record holding exactly the ``fields`` the description lists."""
    if not fields:
        return plan
    first = plan.entities[0] if plan.entities else None
    entity = first.model_copy(update={"fields": fields}) if first else build_entity(
        plan.bare_app.entity if plan.bare_app else GENERIC_ENTITY, fields)
    if entity is None:
        return plan
    plan.entities = [entity, *plan.entities[1:]]
    plan.explicit = plan.evidence = True
    plan.source, plan.added = "listed in the description", []
    return plan
