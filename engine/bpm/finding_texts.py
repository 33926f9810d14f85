"""What a finding says to a designer, in Chinese or English, with a hint for the fix.

Every check that refuses or warns about a file names its rule and what it found (`params`)
next to its English message (`Finding` in engine/bpm/lint.py, `DefinitionError` in
engine/core/errors.py). This catalogue tells each rule in Simplified Chinese, with the BPMN
terms of the Chinese modelers (用户任务, 顺序流, 排他网关 …), and a hint saying what to do.
English keeps the message the check wrote, which already says what to fix.

The engine knows no web request: the caller passes the locale ("zh_CN" or "en").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ENGLISH = "en"

ELEMENT_KINDS = {
    "task": "任务", "userTask": "用户任务", "serviceTask": "服务任务", "scriptTask": "脚本任务",
    "manualTask": "手工任务", "businessRuleTask": "业务规则任务", "sendTask": "发送任务",
    "receiveTask": "接收任务", "callActivity": "调用活动", "subProcess": "子流程",
    "transaction": "事务子流程", "adHocSubProcess": "自由子流程",
    "exclusiveGateway": "排他网关", "inclusiveGateway": "包容网关", "parallelGateway": "并行网关",
    "eventBasedGateway": "事件网关", "complexGateway": "复杂网关",
    "startEvent": "开始事件", "endEvent": "结束事件", "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件", "boundaryEvent": "边界事件",
    "sequenceFlow": "顺序流", "process": "流程", "definitions": "definitions 元素",
    "message": "消息", "signal": "信号", "error": "错误", "escalation": "升级",
    "BPMNShape": "图形（BPMNShape）", "BPMNEdge": "连线（BPMNEdge）",
    "BPMNPlane": "画布（BPMNPlane）", "BPMNDiagram": "图（BPMNDiagram）",
    "decision": "决策", "decisionTable": "决策表", "input": "输入列", "output": "输出列",
    "rule": "规则", "inputEntry": "输入项", "outputEntry": "输出项", "element": "元素",
}

EXPRESSION_KINDS = {
    "condition": "条件", "script": "脚本", "timer": "定时器", "loop_cardinality": "循环次数",
    "completion_condition": "完成条件", "loop_condition": "循环条件",
    "correlation": "关联表达式", "message_payload": "消息内容", "due_date": "到期时间",
    "collection": "多实例集合", "element_variable": "多实例元素变量",
    "dmn_input": "决策输入表达式", "dmn_input_entry": "决策规则输入项",
    "dmn_output_entry": "决策规则输出项", "assignment": "处理人表达式",
}

# Python statements and syntax the sandbox refuses (ast class names).
_CONSTRUCTS = {
    "Import": "import 语句", "ImportFrom": "import 语句", "Lambda": "lambda 函数",
    "FunctionDef": "函数定义（def）", "AsyncFunctionDef": "函数定义（def）", "ClassDef": "类定义",
    "While": "while 循环（请用 for 遍历数据）", "With": "with 语句块", "AsyncWith": "with 语句块",
    "AsyncFor": "async for 循环", "Try": "try 语句块", "Global": "global 语句",
    "Nonlocal": "nonlocal 语句", "NamedExpr": "赋值表达式（:=）", "Yield": "yield",
    "YieldFrom": "yield", "Await": "await", "Return": "return", "Raise": "raise",
    "Assert": "assert", "AnnAssign": "带类型注解的赋值", "Match": "match 语句",
}

# What a refused JUEL text holds (engine/bpm/juel.py's JuelError.construct).
_JUEL_CONSTRUCTS = {
    "unclosed text": "没有结束引号的文字", "unclosed '${'": "没有结束 '}' 的 '${'",
    "text around the expression": "表达式前后的文字", "length": "过长的表达式",
    "empty expression": "空表达式 '${}'", "nesting": "过深的嵌套", "number": "过长的数字",
    "nested '${'": "嵌套的 '${'", "syntax": "无法读懂的写法", "method call": "方法调用",
    "'empty'": "后面没有值的 'empty'", "instanceof": "运算符 'instanceof'",
    "=": "赋值 '='（比较请写 '=='）", "+=": "字符串拼接 '+='", "->": "lambda 表达式 '->'",
    ";": "表达式之间的 ';'", "{": "集合或映射字面量 '{...}'", "}": "多余的 '}'",
    "&": "运算符 '&'（“并且”请写 '&&'）", "|": "运算符 '|'（“或者”请写 '||'）",
}
_JUEL_PREFIXES = {"character ": "字符 ", "escape ": "转义 ", "method call ": "方法调用 "}


@dataclass(frozen=True)
class Told:
    """A finding's message and fix hint in one language."""

    message: str
    hint: str


@dataclass(frozen=True)
class RuleText:
    """A rule in Chinese: the message (a template over the params, or a function of
    them) and the hint."""

    message: str | Callable[[Mapping[str, Any]], str]
    hint: str


def _element(p: Mapping[str, Any]) -> str:
    kind = ELEMENT_KINDS.get(p.get("kind") or "element", p.get("kind"))
    name, element_id = p.get("name"), p.get("id") or ""
    return f"{kind}「{name}」（{element_id}）" if name else f"{kind} '{element_id}'"


def _unreachable(p: Mapping[str, Any]) -> str:
    why = "它没有进入的顺序流" if p["no_incoming"] else "从开始事件出发没有路径到达它"
    return f"{_element(p)} 永远不会被执行：{why}。"


def _candidate_group(p: Mapping[str, Any]) -> str:
    who = ("流程的发起人组" if p["starter"] else f"{_element(p)} 的候选组")
    if p["reason"] == "no_unit":
        return f"{who} '{p['group']}' 指向不存在的单位：没有代码为 '{p['code']}' 的单位"
    also = f"；如果是指该单位的所有人，请写 'unit:{p['group']}'" if p["is_unit"] else ""
    return f"{who} '{p['group']}' 不是任何角色（角色有：{p['roles']}）{also}"


def _timer_cycle(p: Mapping[str, Any]) -> str:
    if p.get("too_often"):
        return f"定时器周期 '{p['cycle']}' 触发过于频繁：间隔不能短于 {p['limit']} 秒"
    return f"定时器周期 '{p['cycle']}' 重复 {p['repeats']} 次，最多 {p['limit']} 次"


def _unreadable_flow(p: Mapping[str, Any]) -> str:
    end = "起点" if p["end"] == "sourceRef" else "终点"
    return f"顺序流 '{p['flow']}' 的{end} '{p['ref']}'"


def _picker(p: Mapping[str, Any]) -> str:
    where = f"表单字段 '{p['field']}' 的选择器 '{p['value']}'"
    if p["reason"] == "type":
        return (f"表单字段 '{p['field']}' 是选择器，但类型是 '{p['type']}'；选择器必须是"
                "字符串字段（它的值是所选对象的代码）。")
    if p["reason"] == "family":
        return f"{where} 没有指明选什么：应为 {p['families']} 之一。"
    kinds = "单位种类" if p["family"] == "unit" else "角色"
    return f"{where} 限定的 {p['unknown']} 不是{kinds}（{kinds}有：{p['known']}）。"


def _translated(p: Mapping[str, Any]) -> str:
    what = "JUEL 表达式" if p["juel"] else "ISO 8601 文字"
    return f"{p['expr']} {p['text']} 是 {what}，按 Python {p['python']} 执行。"


def _several(p: Mapping[str, Any], locale: str = "zh_CN") -> str:
    lines = [f"共 {len(p['items'])} 处错误："]
    for item in p["items"]:
        where = "，".join(part for part in (
            f"第 {item['line']} 行" if item.get("line") else "",
            f"元素 {item['element_id']}" if item.get("element_id") else "") if part)
        told = tell(item.get("rule", ""), item.get("params", {}), item.get("message", ""),
                    locale)
        lines.append(f"- {where}：{told.message}" if where else f"- {told.message}")
    return "\n".join(lines)


# libxml2's schema messages (engine/bpm/xmlsafe.py shortens their namespaces) and Python's
# syntax messages, in Chinese where their shape is known; others are quoted as they are.
_SCHEMA_DETAILS = [
    (re.compile(r"^Element '([^']+)': The attribute '([^']+)' is required but missing\.?$"),
     "元素 {0} 缺少必需的属性 {1}"),
    (re.compile(r"^Element '([^']+)', attribute '([^']+)': The attribute '[^']+' is not allowed\.?$"),
     "元素 {0} 不允许有属性 {1}"),
    (re.compile(r"^Element '([^']+)', attribute '([^']+)': '(.*)' is not a valid value of the "
                r"(?:atomic|list) type '([^']+)'\.?$"),
     "元素 {0} 的属性 {1} 的值 '{2}' 不是有效的 {3}"),
    (re.compile(r"^Element '([^']+)': '(.*)' is not a valid value of the (?:atomic|list) type "
                r"'([^']+)'\.?$"),
     "元素 {0} 的内容 '{1}' 不是有效的 {2}"),
    (re.compile(r"^Element '([^']+)': Missing child element\(s\)\. Expected is (.*?)\.?$"),
     "元素 {0} 缺少子元素，应有 {1}"),
    (re.compile(r"^Element '([^']+)': This element is not expected\. Expected is (.*?)\.?$"),
     "这里不应出现元素 {0}，应为 {1}"),
    (re.compile(r"^Element '([^']+)': This element is not expected\.?$"),
     "这里不应出现元素 {0}"),
    (re.compile(r"^Element '([^']+)': Character content other than whitespace is not allowed.*$"),
     "元素 {0} 中只能有子元素，不能有文字"),
]
_SYNTAX_DETAILS = [
    (re.compile(r"^invalid syntax(?:\. Perhaps you forgot a comma\?)?$"), "语法错误"),
    (re.compile(r"^unterminated (?:triple-quoted )?string literal.*$"), "字符串缺少结束引号"),
    (re.compile(r"^'(.)' was never closed$"), "'{0}' 没有闭合"),
    (re.compile(r"^unmatched '(.)'$"), "多余的 '{0}'"),
    (re.compile(r"^closing parenthesis '(.)' does not match opening parenthesis '(.)'.*$"),
     "右括号 '{0}' 与左括号 '{1}' 不匹配"),
    (re.compile(r"^expected '(.)'$"), "缺少 '{0}'"),
    (re.compile(r"^unexpected indent$"), "缩进不对"),
    (re.compile(r"^expected an indented block.*$"), "缺少缩进的代码块"),
    (re.compile(r"^(?:unexpected EOF while parsing|invalid syntax\. Maybe you meant .*)$"),
     "语法错误"),
]

# SpiffWorkflow's own validation messages (engine/bpm/parse_errors.py keeps them as written).
_LIBRARY_DETAILS = [
    (re.compile(r"^There is no support implemented for this task type\.?$"), "不支持这种任务类型"),
    (re.compile(r"^Process (.+) is not executable\.?$"), "流程 {0} 不是可执行的"),
    (re.compile(r"^No start event found\.?$"), "没有开始事件"),
    (re.compile(r"^(Signal|Error|Escalation|Correlation) identifier is missing from bpmn xml\.?$"),
     "{0} 的标识没有在文件中定义"),
    (re.compile(r"^Duplicate process ID: (.+?)\.?$"), "流程 ID {0} 重复"),
    (re.compile(r"^Conditional event definition with missing condition\.?$"), "条件事件没有条件"),
    (re.compile(r"^Unknown Time Specification\.?$"), "无法识别的时间设置"),
    (re.compile(r"^Cannot resolve (dataInputAssociation|dataOutputAssociation) (.+?)\.?$"),
     "无法解析数据关联 {1}"),
    (re.compile(r"^A SubWorkflow Must contain an End event\.?$"), "子流程必须有结束事件"),
]


def _known(patterns, detail: str) -> str:
    """A library's English message in Chinese when its shape is known, else as it is."""
    for pattern, chinese_text in patterns:
        found = pattern.match(detail.strip())
        if found:
            return chinese_text.format(*found.groups())
    return detail


_EXPORT_AGAIN = "或在建模器中重新导出文件。"

TEXTS: dict[str, RuleText] = {
    # reading the file (engine/bpm/xmlsafe.py)
    "file-too-large": RuleText("文件有 {size:,} 字节，超过上限 {limit:,} 字节。",
                               "删除嵌入的内容，或把流程拆成几个较小的文件。"),
    "not-utf8": RuleText("文件不是 UTF-8 编码（第一个无效字节在偏移 {offset:,} 处）。",
                         "在建模器中以 UTF-8 编码保存。"),
    "doctype": RuleText("文件含有文档类型声明（DOCTYPE/ENTITY）。BPMN 和 DMN 文件不需要它，"
                        "它可能被用来读取服务器文件或耗尽内存。", "删除它，" + _EXPORT_AGAIN),
    "empty-file": RuleText("文件是空的。", "上传一个 BPMN 或 DMN 文件。"),
    "not-well-formed": RuleText("文件在第 {line} 行第 {column} 列不是格式正确的 XML：{reason}。",
                                "修改该处的 XML，" + _EXPORT_AGAIN),
    "processing-instruction": RuleText("文件含有处理指令 <?{target} ...?>，BPMN 和 DMN 文件不使用它。",
                                       "删除它。"),
    "too-many-elements": RuleText("文件的元素超过 {limit:,} 个。",
                                  "把流程拆成几个较小的文件（例如用调用活动）。"),
    "attribute-too-long": RuleText("属性 '{attribute}' 长 {length:,} 个字符，上限是 {limit:,}。",
                                   "缩短它。"),
    "too-deep": RuleText("元素嵌套超过 {limit} 层，正常的 BPMN 和 DMN 文件远没有这么深。",
                         "在建模器中重新导出文件。"),
    "dmn11": RuleText("文件是 DMN 1.1（命名空间 '{namespace}'），已不再接受。",
                      "在 Camunda Modeler 中打开并保存，建模器会把它升级到 DMN 1.3。"),
    "unknown-namespace": RuleText("根元素的命名空间是 '{namespace}'，既不是 BPMN 也不是 DMN。",
                                  "把图导出为 BPMN 2.0 或 DMN XML。"),
    "root-not-definitions": RuleText("根元素是 '{root}'；BPMN 或 DMN 文件必须以 'definitions' 元素开始。",
                                     "在建模器中导出整张图。"),
    "schema": RuleText(lambda p: f"文件不符合 {p['standard']} 规范：{_known(_SCHEMA_DETAILS, p['detail'])}"
                       + (f"（另有 {p['more']} 处规范错误）" if p["more"] else ""),
                       "修改或删除该元素；用 Camunda Modeler 保存的文件能通过此检查。"),
    # structure (engine/bpm/checks.py)
    "duplicate-id": RuleText(lambda p: f"ID '{p['id']}' 被用了两次：第 {p['first_line']} 行的"
                             f"{ELEMENT_KINDS.get(p['first_kind'], p['first_kind'])}和第 "
                             f"{p['line']} 行的{ELEMENT_KINDS.get(p['kind'], p['kind'])}。",
                             "给每个元素一个自己的 ID。"),
    "flow-leaves-container": RuleText(
        lambda p: f"{_unreadable_flow(p)} 不在{ELEMENT_KINDS.get(p['container_kind'], '流程')} "
                  f"'{p['container']}' 之内：顺序流不能离开它所在的流程或子流程。",
        "泳池之间请用消息流连接。"),
    "flow-to-nothing": RuleText(
        lambda p: f"{_unreadable_flow(p)} 不存在：{ELEMENT_KINDS.get(p['container_kind'], '流程')} "
                  f"'{p['container']}' 中没有这个 ID 的元素。",
        "把顺序流重新连接到已有的元素，或删除它。"),
    "no-start-event": RuleText(lambda p: f"{_element(p)} 没有开始事件。", "添加一个开始事件，它才能开始。"),
    "rule-task-without-decision": RuleText(
        "业务规则任务 '{id}' 没有指定决策表。",
        "在属性面板中选择决策（实现方式：DMN，决策引用），或把它改成其他类型的任务。"),
    "boundary-without-trigger": RuleText(
        "边界事件 '{id}' 没有触发方式。",
        "在建模器中选择一种（定时器、消息、信号、错误、升级、条件或取消），或删除该事件。"),
    "event-without-name": RuleText(
        lambda p: f"{_element(p)} 引用的{ELEMENT_KINDS[p['event_kind']]} '{p['ref']}' 没有名称；"
                  f"{ELEMENT_KINDS[p['event_kind']]}按名称传递。",
        "在属性面板中给它起一个名称。"),
    "event-reference": RuleText(
        lambda p: f"{_element(p)} 引用的{ELEMENT_KINDS[p['event_kind']]} '{p['ref']}' 在本文件中没有定义。",
        "在属性面板中重新选择，或添加一个这个 ID 的定义。"),
    "dmn-namespace-prefix": RuleText("DMN 命名空间用了其他前缀声明。",
                                     "像 Camunda Modeler 那样，把它声明为默认命名空间或 'dmn'。"),
    "dmn-without-id": RuleText(lambda p: f"第 {p['line']} 行的{ELEMENT_KINDS.get(p['kind'], p['kind'])}没有 ID。",
                               "Camunda Modeler 会给决策表的每个部分一个 ID；补上 ID，" + _EXPORT_AGAIN),
    "dmn-without-table": RuleText("决策 '{id}' 没有决策表，这里只能运行决策表。", "把决策建成决策表。"),
    "dmn-rule-columns": RuleText("规则 '{id}' 有 {input_entries} 个输入项和 {output_entries} 个输出项，"
                                 "但决策表只有 {inputs} 个输入列和 {outputs} 个输出列。",
                                 "每一列给规则一个项。"),
    # the file as a whole (engine/bpm/definitions.py)
    "no-executable-process": RuleText("文件中没有可执行的流程（isExecutable=\"true\"）。",
                                      "在属性面板中勾选“可执行”。"),
    "process-without-id": RuleText("流程没有 ID。", "给它一个 ID：流程以此部署和发起。"),
    "dmn-decision-count": RuleText("一个 DMN 文件必须正好有一个决策，这个文件有 {count} 个。",
                                   "每个决策单独一个文件。"),
    "decision-without-id": RuleText("决策没有 ID。", "给它一个 ID：业务规则任务通过它引用决策。"),
    "no-definition-files": RuleText("{path} 下没有 .bpmn 或 .dmn 文件。", "检查路径。"),
    "no-such-path": RuleText("{path} 不存在。", "检查路径。"),
    "unreadable-file": RuleText("无法读取文件（{reason}）。", "检查文件是否存在、当前用户能否读取。"),
    "duplicate-key": RuleText("两个文件定义了同一个标识 {keys}。", "每个流程或决策只放在一个文件里。"),
    "decision-not-deployed": RuleText("业务规则任务引用的决策 '{key}' 既不在本次部署中，也没有部署过。",
                                      "先部署这个决策表。"),
    "call-activity-calls-decision": RuleText("调用活动调用的 '{key}' 是决策表，不是流程。",
                                             "调用一个流程；要用决策请用业务规则任务。"),
    "rule-task-refers-to-process": RuleText("业务规则任务引用的 '{key}' 是流程，不是决策表。",
                                            "选择一个决策；要调用流程请用调用活动。"),
    "key-of-other-kind": RuleText(lambda p: f"'{p['key']}' 已经部署为"
                                  f"{'流程' if p['deployed_kind'] == 'process' else '决策'}。",
                                  "换一个 ID。"),
    # the parse inside SpiffWorkflow (engine/bpm/parse_errors.py)
    "library-validation": RuleText(lambda p: f"SpiffWorkflow 不接受此处：{_known(_LIBRARY_DETAILS, p['detail'])}。",
                                   "在属性面板中检查这个元素的设置，" + _EXPORT_AGAIN),
    "library-failure": RuleText(lambda p: f"SpiffWorkflow 无法读取"
                                + (_element({"kind": p['kind'], "id": p['id']}) if p.get("id")
                                   else "这个文件") + f"（{p['detail']}）。",
                                "检查这个元素（或最后修改的元素）的设置，" + _EXPORT_AGAIN),
    # expressions (engine/bpm/sandbox.py, engine/bpm/expression_scan.py)
    "expression-too-long": RuleText("表达式长 {length} 个字符，上限是 {limit}。", "缩短它，或把计算放到脚本任务里。"),
    "expression-not-a-name": RuleText("{written} 必须是一个普通的变量名，例如 items。", "只写变量名。"),
    "expression-syntax": RuleText(lambda p: f"这不是有效的 Python：{_known(_SYNTAX_DETAILS, p['detail'])}。",
                                  "检查括号、引号和运算符。"),
    "expression-too-complex": RuleText("太复杂，无法作为 Python 读取（{detail}）。", "把它拆成几步。"),
    "expression-too-large": RuleText("表达式太大（超过 {limit} 个部分）。", "把它拆成几步，或放到脚本任务里。"),
    "expression-too-deep": RuleText("表达式嵌套太深（超过 {limit} 层）。", "把它拆成几步。"),
    "expression-power-nesting": RuleText("'**' 的嵌套超过 {limit} 层，不允许。", "拆开计算。"),
    "expression-construct": RuleText(lambda p: f"表达式中不允许{_CONSTRUCTS.get(p['construct'], p['construct'] + ' 语法')}。",
                                     "表达式只能读写数据：用条件、循环和内置函数。"),
    "expression-long-string": RuleText("字符串有 {length} 个字符，上限是 {limit}。", "缩短它。"),
    "expression-dunder": RuleText("不允许使用名称 '{name}'。", "不要使用以下划线开头的名称。"),
    "expression-reserved-name": RuleText("不允许使用名称 '{name}'（保留名称）。", "如果是数据，请给变量改个名字。"),
    "expression-attribute": RuleText("不允许用 '.{name}' 读取属性。", "用下标读取数据，例如 data['{name}']。"),
    "expression-call": RuleText("不允许调用 '{name}'。", "可以调用的有：{allowed}。"),
    "expression-method": RuleText("不允许调用方法 '.{name}()'。", "可以调用的方法有：{allowed}。"),
    "expression-call-result": RuleText("不允许调用一个表达式的结果。", "按名称调用辅助函数或内置函数。"),
    "expression-operator": RuleText("不允许使用运算符 {operator}。", "改用其他写法。"),
    "expression-exponent": RuleText("'**' 的指数只能是不超过 {limit} 的数字。", "把指数写成数字。"),
    "expression-repeat": RuleText("字符串或列表只能乘以不超过 {limit} 的数字。", "把次数写成数字。"),
    "expression-repeat-repeated": RuleText("不允许重复一个本身已被重复的字符串或列表。", "只重复一次。"),
    "expression-format-width": RuleText("格式宽度不能是计算出来的，也不能有五位数。", "写一个较小的数字宽度。"),
    "juel-unsupported": RuleText(lambda p: f"{p['expr']} {p['text']} 是 JUEL，但其中的"
                                 f"{_juel_construct(p['construct'])}不在支持的写法之内。",
                                 "支持的 JUEL 写法：==/eq、!=/ne、</lt、&&/and、||/or、!/not、empty、"
                                 "文字和数字、变量和属性、a ? b : c；其他的请写成 Python。"),
    "several": RuleText(_several, "逐条修改后再部署。"),
    # lint (engine/bpm/lint.py)
    "dangling-flow": RuleText("顺序流 '{flow}' 连接到 '{ref}'，它不是本流程的元素。",
                              "重新连接两端，或删除这条顺序流。"),
    "no-outgoing": RuleText(lambda p: f"{_element(p)} 没有流出的顺序流，流程会在这里悄悄停下。",
                            "把它连到下一步或结束事件。"),
    "unreachable": RuleText(_unreachable, "把它连接起来，或删除它。"),
    "no-path-to-end": RuleText(lambda p: f"{_element(p)} 没有通往结束事件的路径：每条路都绕回来。",
                               "给循环加一条通往结束事件的出路。"),
    "gateway-default": RuleText(lambda p: f"{_element(p)} 的流出顺序流有条件，但没有默认流；"
                                "没有条件成立时实例会出错停止。",
                                "把其中一条顺序流设为默认流。"),
    "candidate-group": RuleText(_candidate_group, "在属性面板中改成已有的角色（如 approver）、"
                                "角色@单位代码或 unit:单位代码。"),
    "call-activity-empty": RuleText(lambda p: f"{_element(p)} 没有指定要调用的流程。",
                                    "在属性面板中设置被调用的流程（calledElement）。"),
    "call-activity": RuleText(lambda p: f"{_element(p)} 调用的流程 '{p['called']}' 既不在本文件中，也没有部署。",
                              "先部署它，或改正 ID。"),
    "call-cycle": RuleText("流程 '{key}' 调用了它自己（{path}），每个实例都会无休止地发起下一个。",
                           "断开这个循环。"),
    "fan-out": RuleText(lambda p: f"{_element(p)} 分出 {p['count']} 条并行分支，最多允许 {p['limit']} 条。",
                        "改用对列表的多实例活动。"),
    "multi-instance": RuleText("多实例循环有 {count} 个实例，最多允许 {limit} 个。", "减少实例数。"),
    "form-pattern": RuleText("表单字段 '{field}' 的格式（pattern）无法使用：{detail}。",
                             "去掉反向引用和前后查找，或缩短它。"),
    "form-required-when": RuleText("表单字段 '{field}' 的条件必填（required_when）'{config}' 无法使用。",
                                   "写成 字段=取值，如 review_decision=close（多个取值用 | 分隔）："
                                   "字段是本表单的另一个字段，取值是它的选项。"),
    "form-date": RuleText(lambda p: f"日期字段 '{p['field']}' 的{'最早' if p['bound'] == 'min' else '最晚'}"
                          f"日期 '{p['config']}' 既不是日期，也不是从今天起算的天数。",
                          "写一个日期（如 2027-01-01），或 today、today+1、today-30。"),
    "timer-cycle": RuleText(_timer_cycle, "加长间隔或减少重复次数。"),
    "form-picker": RuleText(_picker, "选择器写 unit、user 或 project，可用冒号限定种类，"
                            "例如 unit:township、user:specialist。"),
    "unknown-variable": RuleText(lambda p: f"{EXPRESSION_KINDS.get(p['expr_kind'], p['expr_kind'])}"
                                 f"读取 {p['names']}，但本流程的表单字段、脚本、决策输出、发起数据和"
                                 "多实例循环都没有设置它。",
                                 "检查拼写。"),
    "start-form": RuleText(lambda p: f"{_element(p)}：人们可以在“发起流程”中发起这个流程，但它读取 "
                           f"{p['names']}，没有任何地方设置它们，而且"
                           + ("发起表单中没有对应的字段。" if p["has_form"] else "发起时没有表单。"),
                           "添加发起表单字段（单位、人员和项目用选择器）；如果由系统或其他流程发起，"
                           "给开始事件加属性 startable=false，并用属性 sets 声明发起数据。"),
    "translated": RuleText(_translated, "请确认这就是你的本意。"),
}


def _juel_construct(construct: str) -> str:
    if construct in _JUEL_CONSTRUCTS:
        return _JUEL_CONSTRUCTS[construct]
    for prefix, chinese in _JUEL_PREFIXES.items():
        if construct.startswith(prefix):
            return chinese + construct.removeprefix(prefix)
    return f" {construct} " if construct else "写法"


def _view(params: Mapping[str, Any]) -> dict[str, Any]:
    """The params with what every template may use: the expression's kind and text."""
    view = dict(params)
    if "expr_kind" in view:
        kind = EXPRESSION_KINDS.get(view["expr_kind"], view["expr_kind"])
        view["expr"] = kind
    return view


def _expression_frame(params: Mapping[str, Any], message: str) -> str:
    """An expression's refusal with the expression it is about and what to write instead."""
    if "text" not in params or "expr_kind" not in params:
        return message
    framed = f"{EXPRESSION_KINDS.get(params['expr_kind'], params['expr_kind'])} {params['text']}：{message}"
    if params.get("read_as"):
        framed += f"（JUEL {params['text']} 被读作 {params['read_as']}）"
    if params.get("juel_not_here"):
        framed += ("JUEL（'${...}'）只用于条件、定时器、到期时间、处理人和多实例设置，"
                   "这里要写 Python：去掉 '${' 和 '}'。")
    if params.get("quote"):
        framed += f"固定的日期或时长要加引号，例如 \"{params['quote']}\"。"
    return framed


def chinese(rule: str, params: Mapping[str, Any], locale: str = "zh_CN") -> Told | None:
    """The Chinese message and hint of a finding, or None when the rule has no text."""
    text = TEXTS.get(rule)
    if text is None:
        return None
    view = _view(params)
    if rule == "several":
        message = _several(view, locale)
    elif callable(text.message):
        message = text.message(view)
    else:
        message = text.message.format_map(view)
    if rule.startswith("expression-"):
        message = _expression_frame(params, message)
    return Told(message, text.hint.format_map(view) if "{" in text.hint else text.hint)


def tell(rule: str, params: Mapping[str, Any], english: str, locale: str) -> Told:
    """A finding in the reader's language: Chinese from the catalogue, English as written.

    A rule without a Chinese text (never in a release: tests/designer/test_finding_texts.py)
    keeps its English message under a Chinese note rather than failing the page.
    """
    if locale == ENGLISH:
        return Told(english, "")
    try:
        told = chinese(rule, params, locale)
    except (KeyError, TypeError, ValueError, IndexError):
        told = None
    return told or Told(f"（暂无中文说明）{english}", "")


def tell_error(error: Any, locale: str) -> str:
    """A DefinitionError as one line (file, line, element: message — hint), for the CLI and
    flash messages."""
    told = tell(getattr(error, "rule", ""), getattr(error, "params", {}), error.message, locale)
    if locale == ENGLISH:
        return error.describe()
    where = "，".join(part for part in (
        error.filename or "",
        f"第 {error.line} 行" if error.line else "",
        f"元素 {error.element_id}" if error.element_id else "") if part)
    text = f"{told.message} {told.hint}".strip() if told.hint else told.message
    return f"{where}：{text}" if where else text
