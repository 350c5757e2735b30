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
    # errors while running (engine.errors: each error's code and params)
    "engine_error": {"zh": "无法完成此操作", "en": "this could not be done"},
    "deploy_refused": {"zh": "部署被拒绝，未做任何更改", "en": "the deployment was refused; nothing changed"},
    "form_invalid": {"zh": "表单有误：{fields}", "en": "the form has errors: {fields}"},
    "task_already_completed": {"zh": "该环节已由 {by} 于 {at} 完成", "en": "this step was already completed by {by} "
                                                                           "at {at}"},
    "staff_unknown": {"zh": "{field}：没有名为 {names} 的员工，请填写员工的用户名（不区分大小写）",
                      "en": "{field}: no member of staff is called {names}; name people by their username "
                            "(any case)"},
    "task_not_open": {"zh": "该环节已{state}，不能再完成", "en": "this step is {state} and can no longer be completed"},
    "not_allowed": {"zh": "您无权查看或更改此项", "en": "you may not see or change this"},
    "not_found": {"zh": "没有找到", "en": "not found"},
    # people administration (engine/people_admin.py)
    "people_username_invalid": {"zh": "用户名“{username}”无效：只能用字母、数字和 . _ -，"
                                      "以字母或数字开头，最多 64 个字符",
                                "en": 'the username "{username}" is not valid: letters, digits and . _ - only, '
                                      "starting with a letter or digit, 64 characters at most"},
    "people_username_taken": {"zh": "用户名 {username} 已被使用（不区分大小写）",
                              "en": "the username {username} is already taken (any case)"},
    "people_display_name_invalid": {"zh": "请填写姓名（最多 {most} 个字符）",
                                    "en": "give a display name ({most} characters at most)"},
    "people_password_short": {"zh": "初始密码至少需要 {least} 个字符", "en": "the initial password needs at least "
                                                                          "{least} characters"},
    "people_email_invalid": {"zh": "电子邮箱“{value}”无效", "en": 'the e-mail address "{value}" is not valid'},
    "people_phone_invalid": {"zh": "电话“{value}”无效：只能用数字、空格、- 和开头的 +",
                             "en": 'the phone "{value}" is not valid: digits, spaces, - and a leading + only'},
    "people_role_unknown": {"zh": "当前部署的 roles.toml 中没有角色 {role}",
                            "en": "the deployed roles.toml has no role {role}"},
    "people_not_in_role": {"zh": "{username} 不属于角色 {role}：请先在其账户中加上该角色",
                           "en": "{username} does not hold the role {role}: add the role to their account first"},
    "people_ranks_invalid": {"zh": "角色 {role} 需要一名主岗，备岗须是另一个人",
                             "en": "the role {role} needs a primary, and the backup must be someone else"},
    "people_date_invalid": {"zh": "日期“{value}”无效：请按 年-月-日 填写（如 2026-03-09）",
                            "en": 'the date "{value}" is not valid: write it as year-month-day (2026-03-09)'},
    "people_date_missing": {"zh": "请填写开始日期", "en": "give the first day"},
    "people_dates_inverted": {"zh": "结束日期 {last} 早于开始日期 {first}",
                              "en": "the last day {last} is before the first day {first}"},
    "people_dates_overlap": {"zh": "与已有的缺勤期 {first} 至 {last} 重叠：请修改或先删除那一段",
                             "en": "this overlaps the absence from {first} to {last}: change the dates or remove "
                                   "that one first"},
    "people_absence_too_long": {"zh": "一段缺勤最长 {most} 天；更长的请停用账户",
                                "en": "one absence lasts {most} days at most; for longer, disable the account"},
    "people_note_too_long": {"zh": "备注最多 {most} 个字符", "en": "the note has {most} characters at most"},
    "people_disable_self": {"zh": "不能停用自己的账户：请另一位管理员操作",
                            "en": "you cannot disable your own account: ask another administrator"},
    "people_last_admin": {"zh": "这样就没有可用的管理员账户了（roles.toml 中 admin = true 的角色），无法撤销：已拒绝",
                          "en": "this would leave no enabled account with an administrator role (admin = true in "
                                "roles.toml), and nobody could undo it: refused"},
    "stale_case": {"zh": "案件 {number} 已更新（版本 {actual}，您看到的是 {expected}）：请刷新后重试",
                   "en": "case {number} changed (version {actual}, you saw {expected}): reload and try again"},
    "case_archived": {"zh": "案件 {number} 已归档，只能查看", "en": "case {number} is archived and read-only"},
    "case_suspended": {"zh": "案件 {number} 已暂停，恢复后才能继续处理",
                       "en": "case {number} is suspended: it moves again once resumed"},
    "case_not_open": {"zh": "案件 {number} 当前状态为 {status}，不能执行此操作",
                      "en": "case {number} is {status}: this cannot be done now"},
    "step_not_done": {"zh": "案件 {number} 没有已完成的环节 {element}，不能退回到该环节",
                      "en": "case {number} has no completed step {element} to go back to"},
    "correction_breaks_form": {"zh": "更正后，案件按表单 {form} 记录的数据将违反其规则 {rule}：{field}（{problem}）；"
                                     "未做任何更改：请选择表单允许的值，或退回到该环节重新办理",
                               "en": "after this correction the case's data recorded with form {form} would break its "
                                     "rule {rule}: {field} ({problem}); nothing changed: choose a value the form "
                                     "allows, or move the case back to that step"},
    "message_not_expected": {"zh": "案件 {number} 现在不在等待消息 {message}",
                             "en": "case {number} is not waiting for message {message} now"},
    "workflow_failed": {"zh": "流程在 {element} 出错，已记录为事件；流程负责人需修正该元素",
                        "en": "the process failed at {element}; this was recorded as an incident for the "
                              "process owner to fix"},
    "workflow_limit": {"zh": "{element} 的脚本或表达式超出了{limit}限制，已记录为事件；流程负责人需修正该元素",
                       "en": "the script or expression of {element} ran past its {limit} limit; this was recorded "
                             "as an incident for the process owner to fix"},
    "task_held_by_other": {"zh": "该环节现在由 {holder} 办理", "en": "{holder} holds this step now"},
    "idempotency_key_reused": {"zh": "该幂等键已用于另一份登记（{number}）：新投诉请使用新键",
                               "en": "the Idempotency-Key was already used for another registration ({number}); "
                                     "send a new key for a new complaint"},
    # the catalogue's properties (engine/catalogue_checks.py)
    "property_misplaced": {"zh": "属性 {property} 不能用在 {kind} 上：请放在 {allowed} 上",
                           "en": "the property {property} does nothing on a {kind}: put it on a {allowed}"},
    "pending_property_not_user_task": {
        "zh": "属性 {property} 只能用在用户任务（userTask）上，不能用在 {kind} 上："
              "请把它放在客户经理等待或提醒的用户任务上",
        "en": "the property {property} belongs on a user task, not a {kind}: put it on the account manager's "
              "waiting or reminder user task"},
    "pending_property_not_flag": {
        "zh": "属性 {property} 的值只能是 true 或 false（现在是“{value}”）",
        "en": 'the property {property} is "true" or "false" (it is "{value}")'},
    "link_days_invalid": {"zh": "customerLinkDays 必须是 1 到 {most} 之间的整数天数（现在是“{value}”）",
                          "en": 'customerLinkDays must be a whole number of days from 1 to {most} (it is "{value}")'},
    "customer_answers_invalid": {
        "zh": "{property} 要写在消息捕获事件上，值是消息内容里放客户答复（接受/拒绝或文字）的字段名，"
              "例如 accepted 或 text（现在是“{value}”）",
        "en": '{property} belongs on a message catch event and names the payload field that carries the '
              'customer\'s answer (yes or no, or text), e.g. accepted or text (it is "{value}")'},
    "case_field_invalid": {"zh": "{property} 的值必须是案件数据的字段名，例如 grade（现在是“{value}”）",
                           "en": 'the value of {property} must be a case-data field name, e.g. grade '
                                 '(it is "{value}")'},
    "meaning_unknown": {"zh": "x-meaning “{value}” 未知：可用的有 {meanings}",
                        "en": 'x-meaning "{value}" is unknown: use one of {meanings}'},
    "meaning_twice": {"zh": "x-meaning “{value}” 已用在字段 {other} 上：每种含义只能标一个字段",
                      "en": 'x-meaning "{value}" is already on the field {other}: mark one field per meaning'},
    "customer_mark_invalid": {"zh": "x-customer 只能是 true 或 false", "en": "x-customer is true or false"},
    "meaning_not_number": {"zh": "x-meaning “{value}” 是统计的金额：字段要写 \"type\": \"number\"（现在是“{kind}”）",
                           "en": 'x-meaning "{value}" is an amount the statistics add up: give the field '
                                 '"type": "number" (it is "{kind}")'},
    "meaning_field_differs": {"zh": "x-meaning “{value}” 在 {other} 里标在字段 {field} 上：各表单要用同一个字段名，"
                                    "否则统计只认其中一个",
                              "en": 'x-meaning "{value}" marks the field {field} in {other}: use the same field name '
                                    'in every form, or the statistics count only one of them'},
    "default_from_invalid": {"zh": "x-default-from 要写案件数据的字段名，例如 compensation_amount（现在是“{value}”）",
                             "en": 'x-default-from names a case-data field, e.g. compensation_amount '
                                   '(it is "{value}")'},
    "reply_needs_words": {"zh": '每条回复模板都需要中文 zh 和英文 en 文本，例如 zh = "您好……"',
                          "en": 'each reply template needs a "zh" and an "en" text, e.g. en = "Hello…"'},
    "reply_too_long": {"zh": "回复模板最多 {most} 个字符", "en": "a reply template has at most {most} characters"},
    "replies_unknown": {"zh": "x-replies（{value}）必须是文本字段上 replies.toml 中的一个分组名：{groups}",
                        "en": "x-replies ({value}) must name a group of replies.toml, on a text field: {groups}"},
    "decision_field_invalid": {
        "zh": 'x-decision 的 field（{value}）必须是本表单的布尔字段，例如 {{"field": "ok", "reason": "why_not"}}',
        "en": 'x-decision\'s field ({value}) must be a boolean field of this form, e.g. {{"field": "ok", '
              '"reason": "why_not"}}'},
    "decision_reason_invalid": {
        "zh": "x-decision 的 reason（{value}）必须是本表单的文本字段（驳回时填写理由）",
        "en": "x-decision's reason ({value}) must be a text field of this form (the reason a rejection gives)"},
    "show_invalid": {"zh": 'x-show 是要在表单上方显示的案件字段名列表，例如 ["offer", "offer_note"]',
                     "en": 'x-show is a list of case field names shown above the form, e.g. ["offer", "offer_note"]'},
    "label_needs_words": {"zh": '每个标签都需要中文 zh 和英文 en，例如 zh = "紧急"',
                          "en": 'each label needs a "zh" and an "en" text, e.g. en = "Urgent"'},
    "demo_invalid": {"zh": "demo.json 不是有效的 JSON（第 {line} 行）",
                     "en": "demo.json is not valid JSON (line {line})"},
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
    "fallback_unknown_role": {
        "zh": "fallback = \"{fallback}\" 不是已定义的角色：请写 roles.toml 中的一个角色，"
              "例如 fallback = \"cs_supervisor\"；已有角色：{roles}",
        "en": 'fallback = "{fallback}" is not a role: name one of the roles in roles.toml, e.g. '
              'fallback = "cs_supervisor"; roles: {roles}'},
    "fallback_cycle": {"zh": "后备角色形成了循环（{chain}）：请让链条止于一个没有 fallback 的角色，例如总经理",
                       "en": "the fallbacks go round in a circle ({chain}): end the chain at a role without a "
                             "fallback, e.g. the general manager"},
    "role_groups_invalid": {
        "zh": "groups = {value} 无效：请写身份提供方（OpenID Connect）组名的列表，1 至 {most} 个、每个不超过 "
              "{longest} 个字符，例如 groups = [\"cs-team\"]",
        "en": "groups = {value} is not valid: write a list of the identity provider's (OpenID Connect) group "
              "names, 1 to {most}, each at most {longest} characters, e.g. groups = [\"cs-team\"]"},
    # sign-in through the identity provider (engine.identities)
    "sign_in_no_role": {
        "zh": "您在身份提供方的组（{groups}）在当前部署的 roles.toml 中不对应任何角色，因此无法登录。"
              "请联系管理员把您加入相应的组，或请流程负责人在 roles.toml 的角色中写上 groups",
        "en": "Your groups at the identity provider ({groups}) give no role in the deployed roles.toml, so you "
              "cannot sign in. Ask an administrator to add you to a group, or the process owner to name it "
              "in a role's groups in roles.toml"},
    "account_disabled": {"zh": "账户 {username} 已停用：请联系管理员",
                         "en": "The account {username} is disabled: ask an administrator"},
    # option lists (x-options: a list file such as defect_types.toml)
    "options_unknown": {"zh": "x-options “{value}” 没有对应的列表文件 {list}：请在 workflows/ 中添加该文件，"
                              "每个选项一个表，例如 [battery_swelling] zh = \"电池鼓包\" en = \"Battery swelling\"",
                        "en": 'x-options "{value}" names no list: add {list} to workflows/, one table per option, '
                              'e.g. [battery_swelling] zh = "电池鼓包" en = "Battery swelling"'},
    "options_empty": {"zh": "选项列表是空的：至少写一个选项，例如 [other] zh = \"其他\" en = \"Other\"",
                      "en": 'the option list is empty: write at least one option, e.g. [other] zh = "其他" '
                            'en = "Other"'},
    "option_needs_words": {"zh": '每个选项都需要中文 zh 和英文 en，例如 zh = "电池鼓包"',
                           "en": 'each option needs a "zh" and an "en" text, e.g. en = "Battery swelling"'},
    # notice templates (workflows/notifications/<subject>.toml)
    "notice_template_incomplete": {
        "zh": "通知模板缺少 {language} 部分的 title 或 text：每个主题都需要中文（zh-CN）和英文（en）两种文字",
        "en": "the notice template lacks a title or text for {language}: each subject needs zh-CN and en"},
    "notice_template_invalid": {"zh": "通知模板无法解析（第 {line} 行）：请检查 {{{{ }}}} 和 {{% %}} 是否成对",
                                "en": "the notice template does not parse (line {line}): check that {{{{ }}}} "
                                      "and {{% %}} are paired"},
    "notice_unknown_variable": {"zh": "通知模板使用了案件没有的变量 {variable}；可用的变量：{known}",
                                "en": "the notice template names {variable}, which a case does not have; "
                                      "known variables: {known}"},
    "notice_attribute_access": {"zh": "通知模板只能直接使用变量，不能访问其属性或下标（. 或 []）",
                                "en": "a notice template uses variables as they are: no attributes or "
                                      "subscripts (. or [])"},
    "notice_option_invalid": {"zh": "通知模板的 {key} 只能是 {allowed} 之一（现在是“{value}”）",
                              "en": 'the notice template\'s {key} is one of {allowed} (it is "{value}")'},
    "notice_report_needs_period": {"zh": "通知模板的 report 和 period 要一起写，例如 report = \"compliance\" 与 "
                                         "period = \"week\"",
                                   "en": 'a notice template names report and period together, e.g. '
                                         'report = "compliance" and period = "week"'},
    # delivery of notices (why a channel did not take a notice; shown on the case page)
    "delivery_no_address": {"zh": "收件人没有该渠道的地址（邮箱或手机号）", "en": "the recipient has no address on "
                                                                                  "this channel (e-mail or phone)"},
    "delivery_smtp_refused": {"zh": "邮件服务器拒收：{detail}", "en": "the mail server refused it: {detail}"},
    "delivery_unreachable": {"zh": "无法连接 {channel}：{detail}", "en": "{channel} could not be reached: {detail}"},
    "delivery_http_status": {"zh": "{channel} 返回 HTTP {status}", "en": "{channel} answered HTTP {status}"},
    "delivery_robot_error": {"zh": "{channel} 机器人拒绝：错误码 {errcode} {errmsg}",
                             "en": "the {channel} robot refused it: error {errcode} {errmsg}"},
    "delivery_not_configured": {"zh": "渠道 {channel} 未配置", "en": "the {channel} channel is not configured"},
    "delivery_render_failed": {"zh": "通知模板渲染失败", "en": "the notice template failed to render"},
    # forms
    "json_invalid": {"zh": "不是有效的 JSON（第 {line} 行第 {column} 列）：请检查逗号、引号和括号",
                     "en": "not valid JSON (line {line}, column {column}): check commas, quotes and brackets"},
    "schema_invalid": {"zh": "不是有效的 JSON Schema（{where}）：关键字 {keyword} 的值不合规范",
                       "en": "not a valid JSON Schema (at {where}): the value of {keyword} breaks the standard"},
    "form_not_object": {"zh": '表单的 schema 必须写 "type": "object"',
                        "en": 'a form schema must have "type": "object"'},
    "form_not_after_invalid": {
        "zh": '字段 {field} 的 "{keyword}" 只能用于 "format": "date" 的字段，取值为：{values}',
        "en": 'the field {field}: "{keyword}" goes on a "format": "date" field and takes one of: {values}'},
    "form_text_needs_max_length": {
        "zh": '文本字段 {field} 没有长度上限：请加上 "maxLength"（如姓名 100，说明 5000）',
        "en": 'the text field {field} has no length limit: add "maxLength" (e.g. 100 for a name, 5000 for a '
              'description)'},
    "form_list_needs_max_items": {
        "zh": '列表字段 {field} 没有条数上限：请加上 "maxItems"（如 20）',
        "en": 'the list field {field} has no limit on its items: add "maxItems" (e.g. 20)'},
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
    # DMN (engine.decision_checks at deploy; engine.decisions while a case runs)
    "dmn_decision_without_id": {
        "zh": "该决策没有 id，业务规则任务无法调用它：请在建模工具中为决策设置 id（例如 risk_level）",
        "en": "the decision has no id, so no business rule task can call it: give the decision an id "
              "(e.g. risk_level) in the modeler"},
    "dmn_decision_empty": {
        "zh": "该决策既没有决策表也没有表达式：请添加一个决策表",
        "en": "the decision has neither a decision table nor an expression: add a decision table"},
    "dmn_decision_kind": {
        "zh": "本引擎不运行 {kind} 形式的决策：请改写为决策表（或单个字面表达式）",
        "en": "decisions written as a {kind} are not run by this engine: write it as a decision table "
              "(or one literal expression)"},
    "dmn_variable_name": {
        "zh": "决策结果的名称 {name} 不能用作案件字段名：请改为字母、数字和下划线组成、"
              "不以 _ 开头的名称（例如 approval_status）",
        "en": "the decision's result name {name} cannot be a case field: use letters, digits and _, not "
              "starting with _ (e.g. approval_status)"},
    "dmn_hit_policy": {
        "zh": "不支持命中策略 {policy}：请使用 UNIQUE、ANY、PRIORITY、FIRST、RULE ORDER、OUTPUT ORDER 或 COLLECT",
        "en": "hit policy {policy} is not supported: use UNIQUE, ANY, PRIORITY, FIRST, RULE ORDER, OUTPUT ORDER "
              "or COLLECT"},
    "dmn_aggregation": {
        "zh": "命中策略 {policy} 不能使用聚合 {aggregation}：聚合只用于 COLLECT，取值为 SUM、COUNT、MIN 或 MAX",
        "en": "aggregation {aggregation} cannot be used with hit policy {policy}: aggregations go with COLLECT "
              "and are SUM, COUNT, MIN or MAX"},
    "dmn_aggregation_outputs": {
        "zh": "聚合 {aggregation} 只能用于只有一个输出列的决策表：请删除多余的输出列，或去掉聚合",
        "en": "aggregation {aggregation} needs a table with one output column: remove the other outputs or the "
              "aggregation"},
    "dmn_input_expression": {
        "zh": "输入列 {column} 没有输入表达式：请填写它读取的案件字段（例如 order_amount）",
        "en": "input column {column} has no input expression: write the case field it reads "
              "(e.g. order_amount)"},
    "dmn_no_output": {"zh": "决策表没有输出列：请添加一个带名称的输出列",
                      "en": "the decision table has no output column: add one with a name"},
    "dmn_output_name": {
        "zh": "输出列 {column} 没有名称（即它设置的案件字段）：请填写名称，例如 priority",
        "en": "output column {column} has no name (the case field it sets): give it one, e.g. priority"},
    "dmn_output_not_identifier": {
        "zh": "输出名称 {name} 不能用作案件字段名：请改为字母、数字和下划线组成、"
              "不以 _ 开头的名称（例如 approval_status）",
        "en": "output name {name} cannot be a case field: use letters, digits and _, not starting with _ "
              "(e.g. approval_status)"},
    "dmn_output_values": {
        "zh": "输出 {name} 的取值列表 {text} 只能包含常量，例如 \"high\", \"low\"",
        "en": "the output values {text} of output {name} may hold only constants, such as \"high\", \"low\""},
    "dmn_priority_without_values": {
        "zh": "命中策略 {policy} 按输出列的取值列表排序，但没有任何输出列有取值列表："
              "请为输出列填写取值（按优先级从高到低）",
        "en": "hit policy {policy} ranks results by the outputs' value lists, and no output has one: list the "
              "output values, highest priority first"},
    "dmn_rule_shape": {
        "zh": "规则 {rule} 有 {inputs} 个输入单元格和 {outputs} 个输出单元格，"
              "而决策表有 {columns} 个输入列和 {results} "
              "个输出列：请用建模工具重新导出",
        "en": "rule {rule} has {inputs} input and {outputs} output cells, but the table has {columns} input and "
              "{results} output columns: export the file again from the modeler"},
    "dmn_cell_syntax": {
        "zh": "规则 {rule} 的 {column} 列单元格 {cell} 无法读取：请写 -（任意值）、常量（\"phone\"、500、true）、"
              "比较（< 5）、区间（[1..5]）、列表（\"a\",\"b\"）、not(...)，或用 ? 代表输入值的表达式（0 < ? <= 500）",
        "en": "rule {rule}, column {column}: cell {cell} cannot be read: write - (any value), a constant "
              "(\"phone\", 500, true), a comparison (< 5), a range ([1..5]), a list (\"a\",\"b\"), not(...), or an "
              "expression with ? for the input (0 < ? <= 500)"},
    "dmn_range_bounds": {
        "zh": "规则 {rule} 的 {column} 列区间 {cell} 的两端必须是常量，例如 [1..5]",
        "en": "rule {rule}, column {column}: both ends of range {cell} must be constants, e.g. [1..5]"},
    "dmn_bad_date": {
        "zh": "规则 {rule} 的 {column} 列日期 {cell} 不是 ISO 日期：请写成 date(\"2024-01-31\")",
        "en": "rule {rule}, column {column}: {cell} is not an ISO date: write date(\"2024-01-31\")"},
    "dmn_name_with_spaces": {
        "zh": "{what} {text} 使用了带空格的名称：请把该字段（输入数据）改名为字母、数字和下划线组成的名称，"
              "例如 full_name",
        "en": "{what} {text} uses a name with spaces: rename the field (input data) with letters, digits and _, "
              "e.g. full_name"},
    "dmn_unique_overlap": {
        "zh": "命中策略 UNIQUE 要求规则互斥，但规则 {first} 和规则 {second} 会同时命中同一输入："
              "请修改单元格使它们互斥，"
              "或改用 FIRST（取第一条）或 PRIORITY（按输出取值的优先级）",
        "en": "hit policy UNIQUE needs rules that never overlap, but rules {first} and {second} match the same "
              "input: change their cells so they exclude each other, or use FIRST (the first match wins) or "
              "PRIORITY (ranked by the output values)"},
    "dmn_any_overlap": {
        "zh": "命中策略 ANY 要求同时命中的规则给出相同结果，但规则 {first} 和规则 {second} 会同时命中且结果不同："
              "请修改单元格使它们互斥，或改用 FIRST 或 PRIORITY",
        "en": "hit policy ANY needs rules that match together to agree, but rules {first} and {second} match the "
              "same input and give different results: change their cells so they exclude each other, or use FIRST "
              "or PRIORITY"},
    "dmn_required_missing": {
        "zh": "该决策依赖的决策 {required} 不在本次部署中：请一起部署定义它的 .dmn 文件",
        "en": "the decision requires decision {required}, which is not in this deployment: deploy the .dmn "
              "file that defines it"},
    "dmn_required_cycle": {
        "zh": "该决策通过所依赖的决策又依赖到它自己：请去掉循环的依赖（informationRequirement）",
        "en": "the decision requires itself through the decisions it requires: remove the circular "
              "requirement (informationRequirement)"},
    "dmn_duplicate_decision": {
        "zh": "决策 id 在 {other} 中也有定义：每个决策 id 只能出现一次，请改名其中一个",
        "en": "the decision id is also defined in {other}: each decision id may appear once, rename one"},
    # DMN while a case runs (an incident on the case; 422 to the person completing a task)
    "dmn_unique_overlap_run": {
        "zh": "决策 {decision} 的命中策略为 UNIQUE，但规则 {rules} 同时命中：流程负责人需修改决策表使规则互斥",
        "en": "decision {decision} has hit policy UNIQUE, but rules {rules} all matched: the process owner must "
              "make the rules exclude each other"},
    "dmn_any_conflict": {
        "zh": "决策 {decision} 的命中策略为 ANY，但命中的规则 {rules} 给出不同的结果：流程负责人需修改决策表",
        "en": "decision {decision} has hit policy ANY, but the matching rules {rules} give different results: "
              "the process owner must correct the table"},
    "dmn_cell_type": {
        "zh": "决策 {decision} 规则 {rule} 的 {column} 列无法比较输入值（{detail}）：请检查该输入字段的类型",
        "en": "decision {decision}, rule {rule}, column {column}: the input cannot be compared ({detail}): "
              "check the type of the input field"},
    "dmn_output_not_listed": {
        "zh": "决策 {decision} 规则 {rule} 的输出 {column} 不在该输出列的取值列表中，无法排序：请把它加入取值列表",
        "en": "decision {decision}, rule {rule}: output {column} gives a value outside its output values, so it "
              "cannot be ranked: add it to the list"},
    "dmn_aggregate_not_number": {
        "zh": "决策 {decision} 的聚合 {aggregation} 需要数字结果：请检查输出单元格",
        "en": "decision {decision}: aggregation {aggregation} needs numbers: check the output cells"},
    "dmn_cell_failed": {
        "zh": "决策 {decision} 规则 {rule} 的 {column} 计算失败（{error}）：请检查该表达式及其用到的案件字段",
        "en": "decision {decision}, rule {rule}, {column} failed ({error}): check the expression and the case "
              "fields it uses"},
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
    "review_report_period": {
        "zh": "属性 reviewReport 的值 {value} 无效：写 {allowed}（该步骤打开的统计报表的周期）",
        "en": "reviewReport {value} is not a report period: write one of {allowed} (the stored report the step "
              "opens on)"},
    "person_task_lane": {
        "zh": "人工任务或普通任务会进入其泳道角色的待办箱，由该角色的人标记完成：请把它放进一个以角色命名的泳道",
        "en": "a manual or plain task goes to the inbox of its lane's role, where a person marks it done: "
              "put it in a lane named after a role"},
    # what the engine carries out (engine.process_checks)
    "process_does_nothing": {
        "zh": "流程 {process} 只有开始/结束事件，案件什么也不会做："
              "请在开始事件后画出任务（例如用户任务）并连到结束事件",
        "en": "process {process} has only start and end events, so a case would do nothing: draw the tasks "
              "(e.g. a user task) after the start event and connect them to an end event"},
    "service_task_unsupported": {
        "zh": "本引擎不提供服务任务的执行器，该任务每次都会失败：若要通知某人，请改用脚本任务调用 "
              'notify("角色", "主题")；若需要人来做，请改用位于泳道中的用户任务或人工任务',
        "en": "this engine offers no operator for service tasks, so it would fail every time: to tell someone, "
              'use a script task calling notify("role", "subject"); for work a person does, use a user or '
              "manual task in a lane"},
    "complex_gateway_unsupported": {
        "zh": "本引擎不运行复杂网关：请改用排他网关（单选）、包容网关（多选）或并行网关",
        "en": "complex gateways are not run by this engine: use an exclusive (one path), inclusive "
              "(several paths) or parallel gateway"},
    "ad_hoc_unsupported": {
        "zh": "本引擎不运行自由（ad-hoc）子流程：请用网关和连线画出任务的顺序，或用并行网关让它们同时进行",
        "en": "ad-hoc subprocesses are not run by this engine: draw the tasks' order with gateways and "
              "flows, or run them side by side after a parallel gateway"},
    "compensation_unsupported": {
        "zh": "本引擎不运行补偿（compensation）：请画出撤销所需的任务，并用排他网关在需要时走到它们",
        "en": "compensation is not run by this engine: draw the undoing tasks and route to them with an "
              "exclusive gateway when needed"},
    "conditional_event_unsupported": {
        "zh": "本引擎不运行条件事件（条件只在到达时判断一次，案件可能永远等待）：请改用带条件的排他网关，"
              "或用定时器定期检查",
        "en": "conditional events are not run by this engine (the condition would be checked only on arrival "
              "and the case could wait for ever): use an exclusive gateway with the condition, or a timer "
              "that checks again"},
    "link_event_unsupported": {
        "zh": "本引擎不运行链接事件（它会在此处结束该路径）：请直接画一条顺序流连到目标元素",
        "en": "link events are not run by this engine (the path would end here): draw the sequence flow "
              "straight to its target"},
    "script_empty": {
        "zh": '脚本任务没有脚本：请填写要运行的 Python 脚本（例如 notify("角色", "主题")），或删除该任务',
        "en": 'the script task has no script: write the Python it runs (e.g. notify("role", "subject")) '
              "or remove the task"},
    "script_not_python": {
        "zh": "脚本格式为 {format}，本引擎只运行 Python 脚本：请用 Python 重写脚本并删除 scriptFormat（或设为 python）",
        "en": "the script is in {format}, and this engine runs only Python: rewrite the script in Python and "
              "remove scriptFormat (or set it to python)"},
    "call_activity_missing": {
        "zh": "调用活动所调用的流程“{called}”不在本次部署中：请把定义它的 .bpmn 文件一起部署，"
              "或在 calledElement 中填写已有流程的 id",
        "en": 'the call activity calls process "{called}", which is not in this deployment: deploy the .bpmn '
              "file that defines it, or set calledElement to the id of a process that is"},
    "call_activity_unset": {
        "zh": "调用活动没有指明要调用的流程：请在 calledElement 中填写本次部署中某个流程的 id",
        "en": "the call activity does not say which process it calls: set calledElement to the id of a "
              "process in this deployment"},
    "business_rule_without_decision": {
        "zh": "业务规则任务没有指明要运行的决策：请添加 "
              "<spiffworkflow:calledDecisionId>决策 id</spiffworkflow:calledDecisionId>"
              "（不读取 camunda:decisionRef），并一起部署该 .dmn 文件",
        "en": "the business rule task does not say which decision it runs: add "
              "<spiffworkflow:calledDecisionId>decision id</spiffworkflow:calledDecisionId> (camunda:decisionRef "
              "is not read) and deploy the .dmn file with it"},
    "decision_missing": {
        "zh": "业务规则任务调用的决策 {decision} 不在本次部署的 .dmn 文件中："
              "请一起部署定义它的文件，或改为已有决策的 id",
        "en": "the business rule task calls decision {decision}, which no .dmn file of this deployment defines: "
              "deploy the file that does, or name a decision that is there"},
    "loop_without_end": {
        "zh": "循环活动既没有循环条件（loopCondition）也没有最大次数（loopMaximum），会永远重复：请填写其中之一",
        "en": "the loop activity has neither a loop condition nor a loopMaximum, so it would repeat for ever: "
              "give one of them"},
    "join_waits_for_untaken_branch": {
        "zh": "并行网关在此等待所有进入的路径，但这些路径在 {gateway} 处只会选择其中一条，案件会永远等待："
              "请把此处改为排他网关（合并任一路径），或在分支处改用并行网关",
        "en": "this parallel gateway waits for every incoming path, but the paths part at {gateway}, where only "
              "one is taken, so a case would wait for ever: make this an exclusive gateway (merge whichever "
              "comes) or split with a parallel gateway"},
    "event_subprocess_interrupting": {
        "zh": "本引擎不会让事件子流程中断主流程（主流程会继续）："
              "请把它的开始事件设为非中断（isInterrupting=\"false\"），或把主流程放进一个子流程并在其上加中断型边界事件",
        "en": "this engine does not let an event subprocess interrupt the main flow (it would go on): make its "
              "start event non-interrupting (isInterrupting=\"false\"), or put the main flow in a subprocess "
              "with an interrupting boundary event"},
    "call_activity_not_executable": {
        "zh": "调用活动所调用的流程“{called}”不可执行：请在该流程上设置 isExecutable=\"true\"",
        "en": 'the call activity calls process "{called}", which is not executable: set isExecutable="true" on it'},
    "gateway_values_uncovered": {
        "zh": "网关按表单字段 {field} 选择路径，但取值 {values} 没有对应的连线，也没有默认路径，案件会停在网关前："
              "请为这些取值加连线，或把其中一条连线设为默认路径",
        "en": "the gateway chooses by form field {field}, but no flow takes the value(s) {values} and there is no "
              "default, so a case would stop before it: add flows for them, or make one flow the default"},
    "subprocess_start_count": {
        "zh": "子流程需要恰好一个开始事件（现有 {count} 个）：请在子流程内放一个空开始事件",
        "en": "a subprocess needs exactly one start event (it has {count}): put one plain start event in it"},
    "subprocess_without_end": {
        "zh": "子流程没有结束事件：请在子流程内的最后一步之后放一个结束事件",
        "en": "the subprocess has no end event: put one after its last step"},
    "multi_instance_without_count": {
        "zh": "多实例活动既没有实例数（loopCardinality）也没有输入集合（loopDataInputRef）：请填写其中之一",
        "en": "the multi-instance activity has neither a number of instances (loopCardinality) nor an input "
              "collection (loopDataInputRef): give one of them"},
    "task_multiple_outgoing": {
        "zh": "任务有 {count} 条流出的顺序流：请在任务后加一个并行网关（同时走所有路径）或排他网关（按条件选一条）",
        "en": "the task has {count} outgoing sequence flows: add a parallel gateway after it (take every "
              "path) or an exclusive gateway (choose one by conditions)"},
    "flow_without_condition": {
        "zh": "网关 {gateway} 的这条流出连线既没有条件也不是默认路径：请写上条件，或把它设为网关的默认路径",
        "en": "this flow out of gateway {gateway} has no condition and is not the default: write its "
              "condition, or make it the gateway's default flow"},
    "data_association_unresolved": {
        "zh": "数据关联指向 {ref}，它不是本文件中的数据对象：请连到一个数据对象，或删除该关联（数据请放在表单字段中）",
        "en": "a data association points to {ref}, which is not a data object in this file: connect it to a "
              "data object or remove it (keep data in form fields)"},
    "message_unnamed": {
        "zh": "该消息没有名称，没有人能按名称发送或接收它：请选择或新建一个有名称的消息（messageRef）",
        "en": "the message has no name, so nobody can send or receive it by name: choose or create a named "
              "message (messageRef)"},
    "signal_unnamed": {
        "zh": "该信号没有名称：请选择或新建一个有名称的信号（signalRef）",
        "en": "the signal has no name: choose or create a named signal (signalRef)"},
    "message_never_caught": {
        "zh": "消息“{name}”发出后，同一案件中没有任何元素接收它，本引擎也不会把它送到别处：若要通知某人，"
              '请改用脚本任务调用 notify("角色", "主题")；若要在案件内传递，请添加接收该消息的事件',
        "en": 'message "{name}" is sent but nothing in the same case receives it, and this engine delivers '
              'it nowhere else: to tell someone, use a script task calling notify("role", "subject"); to '
              "pass it inside the case, add an event that catches it"},
    "signal_never_caught": {
        "zh": "信号“{name}”发出后，同一案件中没有任何元素接收它：请添加接收该信号的事件，或删除该发送事件",
        "en": 'signal "{name}" is thrown but nothing in the same case catches it: add an event that catches '
              "it, or remove the throw"},
    "signal_never_thrown": {
        "zh": "同一案件中没有任何元素发出信号“{name}”（引擎外部也无法发送信号），案件会在此永远等待："
              "请添加发出该信号的事件，"
              "或改用消息事件（可通过 POST /api/v1/messages 送达）或定时器",
        "en": 'nothing in the same case throws signal "{name}" (nothing outside a case can send signals), so '
              "a case would wait here for ever: add an event that throws it, or use a message event (delivered "
              "with POST /api/v1/messages) or a timer"},
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
        "zh": "定时器表达式 {text} 不是日期时间、working_days(n)、next_day_of_month(d)、next_weekday(w) "
              '或 after(case_started(), "PT24H")',
        "en": "timer expression {text} is not a date-time, working_days(n), next_day_of_month(d), "
              'next_weekday(w) or after(case_started(), "PT24H")'},
    "timer_bad_cycle": {"zh": '定时器表达式 {text} 不是 ISO 8601 重复区间，例如 "R3/PT4H"',
                        "en": 'timer expression {text} is not an ISO 8601 repeating interval such as "R3/PT4H"'},
    # the knowledge base (engine.knowledge)
    "knowledge_mark_unknown": {"zh": "x-knowledge “{value}” 未知：可用的有 {parts}（问题、原因、解决方案）",
                               "en": 'x-knowledge "{value}" is unknown: use one of {parts}'},
    "knowledge_mark_not_text": {"zh": "x-knowledge 只能标在文本字段上（\"type\": \"string\"）",
                                "en": 'x-knowledge marks a text field ("type": "string") only'},
    "known_issues_mark_invalid": {"zh": "x-known-issues 只能是 true 或 false", "en": "x-known-issues is true or false"},
    "knowledge_right_invalid": {"zh": "knowledge = “{value}” 未知：要让该角色更正和停用知识库条目，请写 "
                                      'knowledge = "edit"',
                                "en": 'knowledge = "{value}" is unknown: write knowledge = "edit" to let the role '
                                      "correct and retire knowledge-base entries"},
    # the improvement loop (engine.improvement_checks)
    "improvement_process_missing": {
        "zh": "脚本调用了 {function}()，但没有已部署的流程可作为改进流程，改进事项无法开启，案件会在此出错："
              "请在改进流程（例如 improvement.bpmn）的开始事件上加属性 improvement = true，"
              "或删去这个调用",
        "en": "the script calls {function}() but no deployed process can serve as the improvement process, so "
              "no improvement item can open and the case would fail here: give the start event of the "
              "improvement process (e.g. improvement.bpmn) the property improvement = true, or remove the call"},
    "customer_verification_invalid": {
        "zh": "属性 customerVerification 只能写在改进流程（开始事件有 improvement = true）的用户任务上，值为 true",
        "en": "customerVerification belongs on a user task of the improvement process (whose start event has "
              "improvement = true), with the value true"},
}


# Words a parameter may hold that are ours, not the file's (what kind of expression, which limit): translated.
WORDS: dict[str, dict[str, str]] = {
    "condition": {"zh": "条件", "en": "condition"}, "script": {"zh": "脚本", "en": "script"},
    "prescript": {"zh": "前置脚本", "en": "prescript"}, "postscript": {"zh": "后置脚本", "en": "postscript"},
    "timer": {"zh": "定时器表达式", "en": "timer expression"},
    "input expression": {"zh": "输入表达式", "en": "input expression"},
    "input cell": {"zh": "输入单元格", "en": "input cell"}, "output cell": {"zh": "输出单元格", "en": "output cell"},
    "literal expression": {"zh": "字面表达式", "en": "literal expression"},
    "time": {"zh": "时间", "en": "time"}, "size": {"zh": "大小", "en": "size"},
    "cancelled": {"zh": "取消", "en": "cancelled"}, "completed": {"zh": "完成", "en": "completed"},
}
TRANSLATED = ("what", "limit", "state")


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
