"""What a refused deployment tells a process owner, in zh-CN and English, by error code.

A ``Problem`` carries a code and parameters, never prose: the words live here, one entry per
code with both languages, so the web shows each person their own language and a test can check
that every code has both. Parameters are what the file itself says (ids, names, the text a
modeler wrote, line numbers): never a value the engine computed by running deployed code.
"""

from __future__ import annotations

import os
import string

LANGUAGES = ("zh", "en")

MESSAGES: dict[str, dict[str, str]] = {
    # files and folders
    "folder_missing": {"zh": "没有这个文件夹", "en": "no such folder"},
    "not_utf8": {"zh": "不是 UTF-8 文本：请以 UTF-8 编码保存该文件",
                 "en": "not UTF-8 text: save the file as UTF-8"},
    "no_bpmn_file": {"zh": "没有 BPMN 文件：请添加一个含可执行流程的 .bpmn 文件",
                     "en": "no BPMN file found: add one with an executable process"},
    "file_without_process": {"zh": "该文件不含任何流程", "en": "the file holds no process"},
    "process_not_executable": {
        "zh": '流程 {process} 不可执行：在 process 元素上设置 isExecutable="true" 才能在此运行',
        "en": 'process {process} is not executable: set isExecutable="true" on the process to run it here'},
    "role_without_people": {"zh": "角色 {role} 中没有任何人员：部署前请先为该角色添加人员",
                             "en": "role {role} has nobody in it: add people to the role before deploying"},
    # configuration files
    "calendar_invalid": {"zh": "工作日历设置有误：{detail}", "en": "the calendar settings are wrong: {detail}"},
    "roles_missing": {"zh": "缺少 roles.toml：它列出泳道可以使用的角色",
                      "en": "roles.toml is missing: it lists the roles lanes may name"},
    "toml_invalid": {"zh": "不是有效的 TOML（第 {line} 行）：请检查引号、等号和方括号",
                     "en": "not valid TOML (line {line}): check the quotes, equals signs and brackets"},
    "role_needs_names": {"zh": '每个角色都需要中文名 zh 和英文名 en，例如 zh = "客服专员"',
                         "en": 'each role needs a "zh" and an "en" name, e.g. en = "CS specialist"'},
    # forms
    "json_invalid": {"zh": "不是有效的 JSON（第 {line} 行第 {column} 列）：请检查逗号、引号和括号",
                     "en": "not valid JSON (line {line}, column {column}): check commas, quotes and brackets"},
    "schema_invalid": {"zh": "不是有效的 JSON Schema（{where}）：关键字 {keyword} 的值不合规范",
                       "en": "not a valid JSON Schema (at {where}): the value of {keyword} breaks the standard"},
    "form_not_object": {"zh": '表单的 schema 必须写 "type": "object"',
                        "en": 'a form schema must have "type": "object"'},
    # BPMN and DMN parsing
    "xml_malformed": {"zh": "XML 格式不正确（第 {line} 行）：请用建模工具重新导出该文件",
                      "en": "not well-formed XML (line {line}): export the file again from the modeler"},
    "parser_refused": {"zh": "流程引擎无法读取该元素：{detail}",
                       "en": "the process engine cannot read this element: {detail}"},
    "cannot_parse": {"zh": "无法读取该文件：请用建模工具重新导出，并确认它是 BPMN 2.0 或 DMN 1.x",
                     "en": "the file cannot be read: export it again and check it is BPMN 2.0 or DMN 1.x"},
    "cannot_build": {"zh": "无法由该流程生成可运行的定义：请检查其中的连线和子流程",
                     "en": "the process cannot be built: check its sequence flows and subprocesses"},
    "timer_without_value": {
        "zh": '定时器没有取值：请填写时长（如 "PT2H"）、日期时间或 working_days(n)',
        "en": 'the timer has no value: give it a duration ("PT2H"), a date-time or working_days(n)'},
    "data_store_unsupported": {
        "zh": "本引擎不运行数据存储（data store）：请删除它，数据请放在案件表单字段中",
        "en": "data stores are not run by this engine: remove it (keep data in the case's form fields)"},
    # DMN
    "dmn_literal_expression": {"zh": "只支持决策表（不支持字面表达式决策）",
                               "en": "only decision tables are supported (no literal expressions)"},
    "dmn_hit_policy": {
        "zh": "不支持命中策略 {policy}：请使用 UNIQUE（规则互不重叠）或 COLLECT",
        "en": "hit policy {policy} is not supported: use UNIQUE (rules that never overlap) or COLLECT"},
    "dmn_output_name": {"zh": "决策输出需要名称（即它设置的变量名）",
                        "en": "a decision output needs a name (the variable it sets)"},
    "dmn_input_expression": {"zh": "输入列需要输入表达式", "en": "an input needs an input expression"},
    "dmn_feel_list": {
        "zh": "单元格 {cell} 是 FEEL 列表，永远不会匹配：请改为每个取值一条规则",
        "en": "cell {cell} is a FEEL list and would never match: write one rule per value"},
    "dmn_not_python": {
        "zh": "单元格 {cell} 不是本引擎能读的表达式（不支持仅限 FEEL 的语法）",
        "en": "cell {cell} is not an expression this engine reads (FEEL-only syntax is not supported)"},
    # expressions and scripts (compiled at deploy in the sandbox they run in: engine/sandbox.py)
    "sandbox_syntax": {"zh": "{what} {text} 不是有效的 Python（第 {line} 行）：请检查括号、引号和缩进",
                       "en": "{what} {text} is not valid Python (line {line}): check brackets, quotes and indentation"},
    "sandbox_private_name": {
        "zh": "{what} {text} 使用了名称 {name}（第 {line} 行）：以 _ 开头的名称不可使用；请只用案件字段、"
              "文本/数字/列表/字典的方法和 working_days 等引擎函数",
        "en": "{what} {text} uses the name {name} (line {line}): names starting with _ are not allowed; use "
              "the case's fields, methods of text, numbers, lists and dicts, and engine functions such as "
              "working_days"},
    "sandbox_reserved_name": {
        "zh": "{what} {text} 使用了保留名称 {name}（第 {line} 行）：请换一个变量名",
        "en": "{what} {text} uses the reserved name {name} (line {line}): choose another variable name"},
    "sandbox_attribute": {
        "zh": "{what} {text} 使用了属性 .{name}（第 {line} 行）：只能使用文本、数字、列表、字典和集合的常用方法，"
              '例如 .upper()、.get("键")、.append(x)',
        "en": "{what} {text} uses the attribute .{name} (line {line}): only the usual methods of text, numbers, "
              'lists, dicts and sets are available, such as .upper(), .get("key"), .append(x)'},
    "sandbox_construct": {
        "zh": "{what} {text} 使用了 {construct}（第 {line} 行），部署的表达式和脚本不可使用：请改用赋值、if/for 语句、"
              "函数（def）和引擎函数",
        "en": "{what} {text} uses {construct} (line {line}), which deployed expressions and scripts may not use: "
              "write it with assignments, if/for, functions (def) and the engine's functions"},
    "sandbox_limit": {
        "zh": "{what} {text} 在部署试算时超出了{limit}限制：请去掉循环或大量数据，使其快速得出结果",
        "en": "{what} {text} went over the {limit} limit when tried at deploy: remove the loop or the large "
              "values so that it gives its result quickly"},
    # tasks
    "user_task_lane": {"zh": "用户任务必须位于一个泳道中，泳道名即处理它的角色",
                       "en": "a user task must sit in a lane naming the role that works it"},
    "lane_not_role": {"zh": "泳道 {lane} 不是 roles.toml 中的角色（可用：{roles}）",
                      "en": "lane {lane} is not a role in roles.toml (roles: {roles})"},
    "user_task_form": {"zh": "用户任务需要属性 formJsonSchemaFilename，写明它的表单文件",
                       "en": "a user task needs a formJsonSchemaFilename property naming its form"},
    "form_file_missing": {"zh": "表单文件 forms/{form} 不存在或无效",
                          "en": "form file forms/{form} is missing or invalid"},
    # timers
    "timer_empty": {"zh": "定时器没有表达式", "en": "the timer has no expression"},
    "timer_unquoted": {"zh": '定时器表达式 {text} 没有加引号：请写成 "{name}"（带引号）',
                       "en": 'timer expression {text} is not quoted: write "{name}" with the quotes'},
    "timer_not_evaluable": {"zh": "定时器表达式 {text} 无法求值：{rule}",
                            "en": "timer expression {text} cannot be evaluated: {rule}"},
    "timer_not_text": {"zh": "定时器表达式 {text} 的结果不是 ISO 8601 文本",
                       "en": "timer expression {text} does not give an ISO 8601 text"},
    "timer_duration_for_date": {
        "zh": "定时器表达式 {text} 给出的是时长；日期型定时器需要日期时间（或改用时长定时器）",
        "en": "timer expression {text} gives a duration; a time-date timer needs a date-time "
              "(or use a duration timer)"},
    "timer_bad_duration": {"zh": '定时器表达式 {text} 不是 ISO 8601 时长，例如 "PT2H"',
                           "en": 'timer expression {text} is not an ISO 8601 duration such as "PT2H"'},
    "timer_bad_date": {
        "zh": "定时器表达式 {text} 不是日期时间、working_days(n)、next_day_of_month(d) 或 next_weekday(w)",
        "en": "timer expression {text} is not a date-time, working_days(n), next_day_of_month(d) or next_weekday(w)"},
    "timer_bad_cycle": {"zh": '定时器表达式 {text} 不是 ISO 8601 重复区间，例如 "R3/PT4H"',
                        "en": 'timer expression {text} is not an ISO 8601 repeating interval such as "R3/PT4H"'},
}


# Words a parameter may hold that are ours, not the file's (what kind of expression, which limit): translated.
WORDS: dict[str, dict[str, str]] = {
    "condition": {"zh": "条件", "en": "condition"}, "script": {"zh": "脚本", "en": "script"},
    "prescript": {"zh": "前置脚本", "en": "prescript"}, "postscript": {"zh": "后置脚本", "en": "postscript"},
    "timer": {"zh": "定时器表达式", "en": "timer expression"},
    "input expression": {"zh": "输入表达式", "en": "input expression"},
    "input cell": {"zh": "输入单元格", "en": "input cell"}, "output cell": {"zh": "输出单元格", "en": "output cell"},
    "time": {"zh": "时间", "en": "time"}, "size": {"zh": "大小", "en": "size"},
}
TRANSLATED = ("what", "limit")


def render(code: str, params: dict[str, str], lang: str = "en") -> str:
    """The message for ``code`` in ``lang`` (``zh`` for any Chinese locale, else English)."""
    entry = MESSAGES.get(code)
    if entry is None:
        return code
    language = "zh" if lang.lower().startswith("zh") else "en"
    words = {key: WORDS[value][language] for key, value in params.items() if key in TRANSLATED and value in WORDS}
    return string.Formatter().vformat(entry[language], (), _Missing({**params, **words}))


def cli_language() -> str:
    """The language of a terminal: ``COMPLAINTFLOW_LANG`` or the locale's, English by default."""
    for name in ("COMPLAINTFLOW_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


class _Missing(dict):
    """A placeholder without a parameter stays visible instead of failing the message."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
