"""Between HTML forms and engine task forms: submitted strings in, field errors out (in Chinese).

Picker fields (engine/bpm/pickers.py) are drawn as a searchable list of names: `with_choices`
puts each picker field's list (value, name) on the field for the template.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from engine.bpm.forms import required_when

# Fields the decision buttons fill; they are not drawn as inputs.
DECISION_FIELDS = ("decision", "opinion")


def input_fields(form: dict, *, decision: bool) -> list[dict]:
    """The fields to draw as inputs: not read-only, and not the decision pair on decision tasks;
    a field required only after some answer of another says when (`required_when_text`)."""
    shown = [f for f in form.get("fields", [])
             if "readonly" not in f.get("validation", {})
             and not (decision and f["id"] in DECISION_FIELDS)]
    return [{**f, "required_when_text": _required_when_text(form, f)}
            if required_when(f) else f for f in shown]


def _required_when_text(form: dict, field: dict) -> str:
    """“审核结论为“办结销号”时必填”: the condition of a `required_when` field in words."""
    other_id, values = required_when(field)
    other = next((f for f in form.get("fields", []) if f.get("id") == other_id), {})
    names = {o.get("id"): o.get("name") or o.get("id") for o in other.get("options") or []}
    if other.get("type") == "boolean":
        names = {"true": _("是"), "false": _("否")}
    said = _("或").join(f"“{names.get(v, v)}”" for v in sorted(values))
    return _("%(field)s为%(values)s时必填", field=other.get("label") or other_id, values=said)


def with_choices(fields: list[dict], lists: dict[str, list]) -> list[dict]:
    """The fields with `choices` [(value, name)] on each picker field (copies, not the form's)."""
    return [{**f, "choices": [(c.value, c.label) for c in lists[f["id"]]]}
            if f["id"] in lists else f for f in fields]


def data_from(form: dict, submitted: MultiDict, *, decision: bool) -> dict[str, Any]:
    """Task data from a submitted HTML form: empty inputs left out, checkboxes as booleans."""
    data: dict[str, Any] = {}
    for field in input_fields(form, decision=decision):
        if field.get("type") == "file":
            continue  # files come as uploads (webapp/attachments.py take_uploads)
        if field.get("type") == "boolean":
            data[field["id"]] = submitted.get(field["id"]) in ("on", "true", "1")
            continue
        value = submitted.get(field["id"], "").strip()
        if value != "":
            data[field["id"]] = value
    return data


_MESSAGES = [
    (r"Missing data for required field\.|Field may not be null\.|required", _l("此项必填")),
    (r"Not a valid integer\.", _l("请输入整数")),
    (r"Not a valid boolean\.", _l("请选择是或否")),
    (r"Not a valid date\.", _l("请输入有效日期（年-月-日）")),
    (r"Must be one of: .*", _l("请从选项中选择")),
    (r"String does not match expected pattern\.", _l("格式不正确")),
    (r"Unknown field\.", _l("未知字段")),
    (r"Not a valid list\.", _l("请上传文件")),
    (r"Not an attachment of yours waiting to be attached\.", _l("附件无效，请重新上传")),
    (r"The same attachment is given twice\.", _l("同一附件不能重复提交")),
    (r"required to return or reject", _l("退回或不同意时必须填写审批意见")),
    (r"required to return", _l("退回时必须填写退回意见")),
    (r"not an earlier task", _l("请选择本流程中已办理过的环节")),
    (r"no such user", _l("没有这个用户")),
    (r"Not a known unit: .*", _l("没有这个单位，请从列表中选择")),
    (r"Not a known person: .*", _l("没有这个人员，请从列表中选择")),
    (r"Not a known project: .*", _l("没有这个项目，或不在您可以查看的项目中，请从列表中选择")),
    (r"Not a known choice: .*", _l("请从列表中选择")),
    (r"not yourself", _l("请选择他人")),
    (r"Contains a lone surrogate.*", _l("含有无效的字符，请删除后重新填写")),
    (r"Contains the control character .*", _l("含有不能保存的控制字符，请删除后重新填写")),
]


def translate_error(message: str) -> str:
    """A field error from the engine or marshmallow in the user's language."""
    for pattern, text in _MESSAGES:
        if re.fullmatch(pattern, message):
            return str(text)
    if m := re.fullmatch(r"Must be greater than or equal to (\S+?)(?: and less than or equal to (\S+?))?\.", message):
        return _("不能小于 %(low)s", low=m[1]) if not m[2] else _("应在 %(low)s 到 %(high)s 之间", low=m[1], high=m[2])
    if m := re.fullmatch(r"Must be on or after (\d{4}-\d\d-\d\d)\.", message):
        return _("不能早于 %(date)s", date=m[1])
    if m := re.fullmatch(r"Must be on or before (\d{4}-\d\d-\d\d)\.", message):
        return _("不能晚于 %(date)s", date=m[1])
    if m := re.fullmatch(r"Must be less than or equal to (\S+?)\.", message):
        return _("不能大于 %(high)s", high=m[1])
    if m := re.fullmatch(r"Length must be between 1 and (\d+)\.", message):
        return _("请上传文件（最多 %(n)s 个）", n=m[1])
    if m := re.fullmatch(r"Longer than maximum length (\d+)\.", message):
        return _("最多 %(n)s 个字", n=m[1])
    if m := re.fullmatch(r"Shorter than minimum length (\d+)\.", message):
        return _("至少 %(n)s 个字", n=m[1])
    if m := re.fullmatch(r"Length must be between (\d+) and (\d+)\.", message):
        return _("长度应在 %(low)s 到 %(high)s 个字之间", low=m[1], high=m[2])
    return message


def field_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each field's errors, translated."""
    return {name: [translate_error(str(m)) for m in messages] for name, messages in errors.items()}
