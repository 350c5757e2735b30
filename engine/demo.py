"""Sample data: what handlers would type into each form, and demo complaints in several states.

Used by ``complaintflow demo`` / ``make run``, by the tests' driver and by the benchmark,
so that all three speak the same forms.
"""

from __future__ import annotations

from engine.errors import EngineError

FORM_DATA: dict[str, dict] = {
    "first_response": {"expected_handling_time": "2 个工作日内", "message_to_customer": "您好，已收到您的投诉"},
    "verify": {
        "verification_outcome": "defect_confirmed", "safety_hazard": False, "batch_defect": False,
        "public_opinion_risk": False, "core_function_failure": False, "batch_involved": False,
        "customer_upset": False, "widespread": False, "misuse_excluded": True, "notes": "已核实",
    },
    "explain_to_customer": {"explanation": "属正常现象，已指导使用"},
    "start_emergency_handling": {"team": "质量+客服专项小组", "actions": "召回检测", "customer_unreachable": False},
    "start_handling": {"team": "工程师张工", "actions": "远程诊断", "customer_unreachable": False},
    "start_handling_general": {"team": "客服专员", "actions": "联系客户", "customer_unreachable": False},
    "determine_responsibility": {"responsibility": "company", "responsibility_reason": "产品质量问题"},
    "provide_guidance": {"guidance": "已提供使用指南"},
    "assist_third_party": {"third_party": "物流公司", "progress": "已协助索赔"},
    "root_cause_analysis": {
        "defect_type": "外壳裂纹", "responsible_department": "production",
        "corrective_actions": "更换模具", "preventive_actions": "加强出厂检验",
    },
    "propose_plan": {"plan_type": "exchange", "compensation_amount": 0, "plan_details": "同型号换新"},
    "approve_compensation": {"approved": True, "approval_comment": "同意"},
    "approve_compensation_manager": {"approved": True, "approval_comment": "同意"},
    "management_review": {"agrees": True, "review_comment": "同意处理意见"},
    "coordinate_plan": {"coordination_notes": "已协调"},
    "follow_up_confirmation": {"customer_accepted": True, "follow_up_notes": "客户电话确认"},
    "ship_exchange": {"tracking_number": "SF1234567890"},
    "complete_repair": {"repair_report": "已更换主板"},
    "pay_refund": {"refund_reference": "RF-001", "refunded_at": "2026-03-05 10:00"},
    "deliver_plan": {"delivery_notes": "已送达"},
    "notify_result": {"result_message": "您的换货已完成"},
    "callback": {"reached": True, "satisfaction": 5, "satisfaction_label": "very_satisfied", "comments": "满意"},
    "tier1_new_plan": {"plan_type": "refund", "compensation_amount": 0, "plan_details": "全额退款",
                       "assessment": "重新评估"},
    "tier2_new_plan": {"plan_type": "refund", "compensation_amount": 0, "plan_details": "全额退款",
                       "assessment": "重新评估"},
    "tier3_new_plan": {"plan_type": "refund", "compensation_amount": 0, "plan_details": "全额退款",
                       "assessment": "重新评估", "final_decision": "全额退款并书面致歉，为最终决定"},
}


def registration(**overrides: object) -> dict:
    data = {
        "channel": "phone", "complaint_type": "product_quality", "customer_name": "张三",
        "contact": "138-0013-5678", "product_name": "智能电水壶", "product_model": "K-200",
        "batch_no": "B2026-01", "serial_no": "SN0001", "purchase_date": "2026-01-15",
        "purchase_channel": "官方商城", "description": "使用两周后底座漏电", "expectation": "exchange",
        "involved_staff": [],
    }
    data.update(overrides)
    return data




def complete_step(eng, number: str, element: str, **data: object) -> None:  # noqa: ANN001
    """Complete the case's open ``element`` task as its assignee, with sample data plus ``data``."""
    matches = [t for t in eng.tasks.for_case(number) if t.name == element]
    if len(matches) != 1:
        found = [t.name for t in eng.tasks.for_case(number)]
        raise EngineError(f"case {number}: expected one open {element!r} task, found {found}")
    form = dict(FORM_DATA[element])
    form.update(data)
    eng.tasks.complete(matches[0].id, matches[0].assignee, form)


DEMO_CASES: list[tuple[dict, list[tuple[str, dict]]]] = [
    # A phone complaint just registered: first response due in 10 minutes.
    (registration(channel="phone", customer_name="王小明", description="热水壶底座漏电"), []),
    # Urgent: safety hazard, emergency handling must start within 2 hours.
    (registration(channel="web", customer_name="李华", description="电池鼓包发烫"),
     [("first_response", {}), ("verify", {"safety_hazard": True})]),
    # Waiting for the customer to send more information.
    (registration(channel="email", customer_name="赵敏", complaint_type="service", description="安装人员迟到"),
     [("first_response", {}), ("verify", {"verification_outcome": "need_more_info"})]),
    # Serious: at root-cause analysis.
    (registration(channel="store", customer_name="陈晨", description="开机无反应"),
     [("first_response", {}), ("verify", {"core_function_failure": True}), ("start_handling", {}),
      ("determine_responsibility", {})]),
    # A 600 CNY compensation waiting for the CS manager.
    (registration(channel="social", customer_name="周杰", description="外观划痕", expectation="compensation"),
     [("first_response", {}), ("verify", {}), ("start_handling_general", {}), ("determine_responsibility", {}),
      ("root_cause_analysis", {}), ("propose_plan", {"plan_type": "compensation", "compensation_amount": 600}),
      ("approve_compensation", {})]),
]


def seed_demo_cases(eng) -> list[str]:  # noqa: ANN001
    """Start the demo complaints and move each to its state; returns their numbers."""
    numbers = []
    for data, steps in DEMO_CASES:
        number = eng.runtime.start(eng.repository.active().intake_process(), data, "cs1")
        for element, values in steps:
            complete_step(eng, number, element, **values)
        numbers.append(number)
    return numbers
