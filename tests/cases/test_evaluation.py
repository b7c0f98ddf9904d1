"""Evaluation (综合评价) against hand-computed examples: each figure below is worked out in the comments."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook
from shapely.geometry import shape

from tests.cases.conftest import SHANGHAI, act, evidence, make_case, standard_id, user
from tests.conftest import bearer_for
from tests.identity.helpers import HTML, login
from zhili.cases import evaluation
from zhili.cases.evaluation.indicators import (
    DEFAULT_WEIGHTS,
    EvaluationSettings,
    IndicatorRow,
    composite_score,
)
from zhili.cases.states import CaseStatus
from zhili.core.errors import Invalid
from zhili.org import service as org_service

MARCH = (datetime(2026, 3, 1, tzinfo=SHANGHAI), datetime(2026, 4, 1, tzinfo=SHANGHAI))
STREET = "440111002"  # the demo inspector's street


def _at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def _other_street_spot(session) -> tuple[float, float]:
    grid = next(g for g in org_service.area_index(session).grids if not g.code.startswith(STREET))
    point = shape(grid.geometry).representative_point()
    return float(point.x), float(point.y)


@pytest.fixture
def march(session, cfg, at):
    """Eight cases around March 2026 (06010: register 0.5 urgent h, dispatch 0.5 urgent h, handle 4 working
    hours, check 1 urgent h; office hours 08:30–12:00, 14:00–17:30). Times are Guangzhou local.

    F  reported Thu 26 Feb 09:00, registered/dispatched/accepted 09:00, handled 10:00, checked 10:30;
       closed Mon 2 Mar 09:00 — reported before the period, closed inside it.
    On Mon 2 Mar, all reported 09:00 by the inspector (street 440111002) unless said:
    A  registered, dispatched, accepted 09:00; handled 10:00 (due 15:00); checked 10:30; closed 10:30.
    B  registered, dispatched, accepted 09:00; handled 16:00 (due 15:00: late); appeal approved 16:00;
       checked and closed 16:00.
    C  registered, dispatched 09:00; returned by the department 09:00; dispatched again and accepted
       09:00 (due 15:00); still handling at 16:00, so overdue now.
    D  registered 10:00 (due 09:30: late), dispatched, accepted, handled 10:00; checked 10:30 and sent
       back for rework 10:30 (new due 16:30); handled 11:00, checked and closed 11:00.
    E  registered, dispatched 09:00, then cancelled 09:00.
    H  not accepted (不予立案) 09:00.
    G  a leader's instruction in another street, reported 09:00, waiting to be registered.
    """
    sid = standard_id(session)
    photo = lambda: {"result": "已清理", "evidence": evidence(session)}  # noqa: E731
    at.set(_at(26, 9, month=2))
    f = make_case(session, cfg)
    first_steps = (("shift_leader", "register", {"standard_id": sid}), ("dispatcher", "dispatch", {}),
                   ("handler", "accept", {}))
    for who, action, kw in first_steps:
        f = act(session, cfg, who, f, action, **kw)
    at.set(_at(26, 10, month=2))
    f = act(session, cfg, "handler", f, "handle", **photo())
    at.set(_at(26, 10, 30, month=2))
    f = act(session, cfg, "inspector", f, "check", passed=True)

    at.set(_at(2, 9))
    f = act(session, cfg, "shift_leader", f, "close")
    a, b, c, d, e, h = (make_case(session, cfg) for _ in range(6))
    g = make_case(session, cfg, reporter="shift_leader", source="leader", spot=_other_street_spot(session))
    for case in (a, b, c, e):
        case = act(session, cfg, "shift_leader", case, "register", standard_id=sid)
        case = act(session, cfg, "dispatcher", case, "dispatch")
    for case in (a, b, c):
        act(session, cfg, "handler", case, "accept")
    act(session, cfg, "handler", c, "return_case", reason="不属本部门")
    act(session, cfg, "dispatcher", c, "dispatch")
    act(session, cfg, "handler", c, "accept")
    act(session, cfg, "shift_leader", e, "cancel", reason="重复登记")
    act(session, cfg, "shift_leader", h, "not_accept", reason="不符合立案条件")

    at.set(_at(2, 10))
    act(session, cfg, "shift_leader", d, "register", standard_id=sid)
    act(session, cfg, "dispatcher", d, "dispatch")
    act(session, cfg, "handler", d, "accept")
    act(session, cfg, "handler", a, "handle", **photo())
    act(session, cfg, "handler", d, "handle", **photo())
    at.set(_at(2, 10, 30))
    for case in (a, d):
        act(session, cfg, "inspector", case, "check", passed=True)
    act(session, cfg, "shift_leader", a, "close")
    act(session, cfg, "shift_leader", d, "rework", reason="仍有残留")
    assert d.handle_due_at == _at(2, 16, 30)
    at.set(_at(2, 11))
    act(session, cfg, "handler", d, "handle", **photo())
    act(session, cfg, "inspector", d, "check", passed=True)
    act(session, cfg, "shift_leader", d, "close")

    at.set(_at(2, 16))
    act(session, cfg, "handler", b, "handle", **photo())
    act(session, cfg, "handler", b, "appeal", reason="暴雨")
    act(session, cfg, "dispatcher", b, "approve_appeal")
    act(session, cfg, "inspector", b, "check", passed=True)
    act(session, cfg, "shift_leader", b, "close")
    assert b.handled_at > b.handle_due_at and b.appeal_status == "approved"
    assert [x.status for x in (a, b, c, d, e, f, g, h)] == [
        CaseStatus.closed, CaseStatus.closed, CaseStatus.handling, CaseStatus.closed, CaseStatus.cancelled,
        CaseStatus.closed, CaseStatus.to_register, CaseStatus.not_accepted,
    ]
    session.commit()
    return {"g_street": g.street_code}


def _one(rows: list[IndicatorRow], key: str) -> IndicatorRow:
    found = [r for r in rows if r.key == key]
    assert len(found) == 1, [r.key for r in rows]
    return found[0]


def test_street_indicators_match_the_hand_computed_figures(session, march) -> None:
    row = _one(evaluation.compute(session, group_by="street", start=MARCH[0], end=MARCH[1]), STREET)
    # 上报数: A B C D E H reported in March (F in February, G in another street) = 6;
    # 有效上报数: registered by the end = A B C D E = 5 → 5/6.
    assert (row.reported, row.valid_reported, row.self_handled) == (6, 5, 0)
    assert row.valid_report_rate == pytest.approx(5 / 6)
    # 立案数 5 (A B C D E); 不予立案 1 (H) → 立案率 5/6; 按时立案: all but D (10:00 > 09:30) → 4/5.
    assert (row.registered, row.not_accepted, row.on_time_registered) == (5, 1, 4)
    assert row.register_rate == pytest.approx(5 / 6) and row.on_time_register_rate == pytest.approx(0.8)
    # 派遣数 5 (first dispatch in March); C was returned → 回退率 1/5, 准确派遣率 4/5; all on time.
    assert (row.dispatched, row.returned) == (5, 1)
    assert row.return_rate == pytest.approx(0.2) and row.accurate_dispatch_rate == pytest.approx(0.8)
    assert row.on_time_dispatch_rate == 1.0
    # 应处置: A B C D (E cancelled, F handled before March) = 4; 处置: A B D = 3 → 3/4;
    # 按期处置: A (10:00 ≤ 15:00), D (11:00 ≤ 16:30 after rework), B appeal-exempt = 3 → 3/4.
    assert (row.to_handle, row.handled, row.on_time_handled) == (4, 3, 3)
    assert row.handle_rate == 0.75 and row.on_time_handle_rate == 0.75
    # 超期: the raw fact is B (handled 16:00 > 15:00) and C (still handling, due 15:00 < now 16:00) = 2;
    # B's approved appeal takes it out of 超期数 (= 1, C) and into 申诉豁免数 (= 1).
    assert (row.overdue_raw, row.overdue, row.appeal_exempt) == (2, 1, 1)
    # 应结案 = handled before the end and not closed before March: A B D F = 4; 结案 4; 按期结案 4
    # (A, D, F handled in time; B exempt) → 结案率 1, 按期结案率 1.
    assert (row.to_close, row.closed, row.on_time_closed) == (4, 4, 4)
    assert row.close_rate == 1.0 and row.on_time_close_rate == 1.0
    # 返工: D among the 3 handled → 1/3; no extension, no suspension.
    assert (row.reworked, row.extended, row.suspended) == (1, 0, 0)
    assert row.rework_rate == pytest.approx(1 / 3)
    # 核查 in March: A B D (F was checked in February), each within its hour; no 核实 (inspector reports).
    assert (row.checked, row.on_time_check_rate, row.verified) == (3, 1.0, 0)
    # Hours: accept 0 (A B C D accepted when dispatched); handle (A 1 + B 7 + D 1) / 3 = 3;
    # close, report → close: (A 1.5 + B 7 + D 2 + F 96) / 4 = 26.625.
    assert row.avg_accept_hours == 0.0 and row.avg_handle_hours == pytest.approx(3.0)
    assert row.avg_close_hours == pytest.approx(26.625, abs=0.01)
    # 综合指标值 (street weights): .25×1 + .15×1 + .20×.75 + .10×.75 + .10×.8 + .10×5/6 + .10×(1−1/3) = .855
    assert row.score == pytest.approx(85.5, abs=0.01)


def test_other_street_and_department_rows(session, march) -> None:
    streets = evaluation.compute(session, group_by="street", start=MARCH[0], end=MARCH[1])
    other = _one(streets, march["g_street"])
    assert (other.reported, other.registered, other.to_handle) == (1, 0, 0)
    assert other.valid_report_rate == 0.0 and other.handle_rate is None
    depts = evaluation.compute(session, group_by="department", start=MARCH[0], end=MARCH[1])
    hw = _one(depts, "BY-HW")  # every 06010 case went to sanitation
    # Cases ever dispatched: A B C D E F; reported in March among them: A B C D E.
    assert (hw.reported, hw.dispatched, hw.to_handle, hw.handled, hw.overdue, hw.closed) == (5, 5, 4, 3, 1, 4)


def test_period_boundaries_count_each_step_in_its_own_period(session, march) -> None:
    feb = evaluation.compute(session, group_by="street", start=_at(1, 0, month=2), end=MARCH[0])
    row = _one(feb, STREET)
    # F alone: reported, registered, dispatched, handled in February, closed only in March.
    assert (row.reported, row.registered, row.dispatched, row.handled) == (1, 1, 1, 1)
    assert (row.to_close, row.closed, row.close_rate) == (1, 0, 0.0)


def test_a_street_user_sees_only_their_streets_and_a_department_user_only_theirs(session, march) -> None:
    inspector = user(session, "inspector")  # scoped to street 440111002
    rows = evaluation.compute(session, group_by="street", start=MARCH[0], end=MARCH[1], user=inspector)
    assert [r.key for r in rows] == [STREET]
    handler = user(session, "handler")  # sanitation (BY-HW) staff: only cases the department holds
    rows = evaluation.compute(session, group_by="street", start=MARCH[0], end=MARCH[1], user=handler)
    assert [r.key for r in rows] == [STREET] and rows[0].reported == 5  # H and G never reached BY-HW


def test_posts_and_inspectors(session, march) -> None:
    posts = evaluation.compute(session, group_by="post", start=MARCH[0], end=MARCH[1])
    operator = _one(posts, "operator:shift_leader")
    # Registered A B C D E in March (D late) and refused H.
    assert (operator.registered, operator.on_time_registered, operator.not_accepted) == (5, 4, 1)
    dispatcher = _one(posts, "dispatcher:dispatcher")
    # Six dispatches in March (A B C C′ D E); the first one of C was returned.
    assert (dispatcher.dispatched, dispatcher.returned) == (6, 1)
    assert dispatcher.accurate_dispatch_rate == pytest.approx(5 / 6)
    inspectors = evaluation.compute(session, group_by="inspector", start=MARCH[0], end=MARCH[1])
    staff = str(user(session, "inspector").staff_id)
    me = _one(inspectors, staff)
    assert (me.reported, me.valid_reported, me.checked, me.on_time_check_rate) == (6, 5, 3, 1.0)
    assert me.to_handle is None  # not an inspector's figure


def test_bad_periods_are_refused(session) -> None:
    with pytest.raises(Invalid, match="before"):
        evaluation.compute(session, group_by="street", start=MARCH[1], end=MARCH[0])
    with pytest.raises(Invalid, match="time zone"):
        evaluation.compute(session, group_by="street", start=datetime(2026, 3, 1), end=datetime(2026, 4, 1))
    with pytest.raises(Invalid, match="group_by"):
        evaluation.compute(session, group_by="team", start=MARCH[0], end=MARCH[1])  # type: ignore[arg-type]


def test_composite_weights_are_configuration() -> None:
    row = IndicatorRow("street", "x", "x", on_time_close_rate=0.5, rework_rate=0.2, close_rate=None)
    # Only defined rates count; a lower-is-better rate enters as 1 − rate: (1×.5 + 1×.8) / 2.
    assert composite_score(row, {"on_time_close_rate": 1, "rework_rate": 1, "close_rate": 5}) == 65.0
    settings = EvaluationSettings(weights={"street": {"on_time_close_rate": 1.0}})
    assert settings.weights_for("street") == {"on_time_close_rate": 1.0}
    assert settings.weights_for("department") == DEFAULT_WEIGHTS["department"]
    with pytest.raises(ValueError, match="unknown"):
        EvaluationSettings(weights={"street": {"happiness": 1.0}}).weights_for("street")


def test_api_and_excel_export(client, db, march) -> None:
    headers = bearer_for(db, "leader")
    query = {"group_by": "street", "start": "2026-03-01", "end": "2026-04-01"}
    r = client.get("/api/v1/evaluation", params=query, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    row = next(x for x in body["rows"] if x["key"] == STREET)
    assert (row["reported"], row["to_close"], row["on_time_handle_rate"], row["score"]) == (6, 4, 0.75, 85.5)
    assert body["start"] == "2026-03-01T00:00:00+08:00"
    bad = client.get("/api/v1/evaluation", params={**query, "end": "soon"}, headers=headers)
    assert bad.status_code == 422
    denied = client.get("/api/v1/evaluation", params=query, headers=bearer_for(db, "inspector"))
    assert denied.status_code == 403

    x = client.get("/api/v1/evaluation/export.xlsx", params=query, headers=headers)
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(BytesIO(x.content)).active
    headers_row = [c.value for c in ws[2]]
    assert headers_row[:4] == ["名称", "综合指标值", "上报数", "有效上报数"]
    assert "按期结案率" in headers_row and "超期数（含申诉豁免）" in headers_row
    name_col = [r[0].value for r in ws.iter_rows(min_row=3)]
    line = ws[3 + name_col.index(row["name"])]
    values = dict(zip(headers_row, line, strict=True))
    assert values["上报数"].value == 6 and isinstance(values["上报数"].value, int)
    assert values["按期处置率"].value == 0.75 and values["按期处置率"].number_format == "0.0%"


def test_evaluation_page_renders(client, db, march) -> None:
    login(client, "leader")
    r = client.get("/evaluation", params={"period": "month", "month": "2026-03"}, headers=HTML)
    assert r.status_code == 200
    assert "eval-chart" in r.text and "export.xlsx?group_by=street&amp;start=2026-03-01" in r.text
    params = {"period": "quarter", "year": 2026, "quarter": 1, "group_by": "post"}
    q = client.get("/evaluation", params=params, headers=HTML)
    assert q.status_code == 200 and "start=2026-01-01&amp;end=2026-04-01" in q.text
