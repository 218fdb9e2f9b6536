"""The decision panel's rules (SQLite and PostgreSQL): lane overrides with a reason code and
the orders that follow them, examiner instructions, referrals."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from quaywatch.errors import ConflictError, InputError, NotFoundError, RecordError
from quaywatch.services import audit, control, decisions, worklist
from quaywatch.store import tables
from quaywatch.store.store import Store


def _decided(store: Store, run_id: str, *, selected_by: str, control: str | None) -> list[str]:
    """Consignments the run decided ``control`` for, chosen by ``selected_by`` (test setup)."""
    d = tables.control_decisions
    query = select(d.c.consignment_id).where(d.c.run_id == run_id, d.c.selected_by == selected_by)
    query = query.where(
        d.c.control_type.is_(None) if control is None else d.c.control_type == control
    )
    with store.reading() as conn:
        found = list(conn.execute(query.order_by(d.c.consignment_id)).scalars())
    assert found, (selected_by, control)
    return found


def _decision(store: Store, run_id: str, consignment_id: str) -> decisions.RunDecision:
    panel = decisions.decision_panel(store, consignment_id)
    return next(d for d in panel.decisions if d.run_id == run_id)


def _order_of(store: Store, run_id: str, consignment_id: str) -> control.Order | None:
    return next(
        (
            o
            for o in control.list_orders(store, run_id=run_id)
            if o.consignment_id == consignment_id
        ),
        None,
    )


def test_overrides_decide_the_orders_made_afterwards(selected: tuple[Store, str]) -> None:
    store, run = selected
    raised = _decided(store, run, selected_by="NONE", control=None)[0]
    lowered = _decided(store, run, selected_by="MODEL", control="DOCUMENTARY")[0]
    stronger = _decided(store, run, selected_by="MODEL", control="DOCUMENTARY")[1]
    done = decisions.override_lane(store, run, raised, lane="red", reason_code="new_intelligence",
                                   note="  alert from a partner  ", actor="ana")  # fmt: skip
    assert (done.override.from_lane, done.override.to_lane) == ("green", "red")
    assert done.override.control_type == "PHYSICAL" and done.override.note == "alert from a partner"
    assert done.override.reason_code == "NEW_INTELLIGENCE" and done.order_id is None
    decisions.override_lane(store, run, lowered, lane="green", reason_code="DOCUMENTS_CLARIFIED",
                            actor="ana")  # fmt: skip
    decisions.override_lane(store, run, stronger, lane="red", reason_code="OFFICER_JUDGEMENT",
                            note="packages do not match the goods", actor="ana")  # fmt: skip
    shown = _decision(store, run, raised)
    assert (shown.decided_lane, shown.lane, shown.control_type, shown.overridden) == (
        "green", "red", "PHYSICAL", True,
    )  # fmt: skip

    control.create_orders(store, run, actor="ana")
    officer = _order_of(store, run, raised)
    assert officer is not None and officer.control_type == "PHYSICAL" and officer.lane == "red"
    # The learning loop and the KPIs count it as the officer's pick, made for certain.
    assert (officer.selected_by, officer.propensity) == ("OFFICER", 1.0)
    assert _order_of(store, run, lowered) is None
    model = _order_of(store, run, stronger)
    assert model is not None and (model.decided_type, model.control_type) == ("DOCUMENTARY",
                                                                              "PHYSICAL")  # fmt: skip
    assert (model.selected_by, model.lane) == ("MODEL", "red")
    assert _decision(store, run, raised).order_id == officer.order_id
    again = control.create_orders(store, run, actor="ana")
    assert again.created == [], "making the orders again adds nothing, the officer's included"


def test_a_planned_order_follows_the_override_in_its_history(selected: tuple[Store, str]) -> None:
    store, run = selected
    control.create_orders(store, run, actor="ana")
    first, second = _decided(store, run, selected_by="MODEL", control="PHYSICAL")[:2]
    changed = decisions.override_lane(store, run, first, lane="orange", reason_code="OPERATIONAL",
                                      note="no examination bay free", actor="bob")  # fmt: skip
    assert (changed.order_state, changed.order_control_type) == ("planned", "SCAN")
    steps = control.order_dossier(store, str(changed.order_id)).history
    assert steps[-1].action == "override" and steps[-1].actor == "bob"
    assert "red → orange: OPERATIONAL (no examination bay free)" in str(steps[-1].reason)
    assert control.order_dossier(store, str(changed.order_id)).order.lane == "orange"

    cancelled = decisions.override_lane(store, run, second, lane="blue",
                                        reason_code="CONTROLLED_ELSEWHERE", actor="bob")  # fmt: skip
    assert cancelled.order_state == "cancelled"
    history = control.order_dossier(store, str(cancelled.order_id)).history
    assert history[-1].action == "cancel" and "CONTROLLED_ELSEWHERE" in str(history[-1].reason)
    # The cancelled order is final: the consignment's lane no longer changes in this run.
    with pytest.raises(ConflictError, match="cancelled order is final"):
        decisions.override_lane(store, run, second, lane="red", reason_code="NEW_INTELLIGENCE",
                                actor="bob")  # fmt: skip


def test_an_order_in_progress_or_done_is_not_changed(selected: tuple[Store, str]) -> None:
    store, run = selected
    control.create_orders(store, run, actor="ana")
    busy, finished = _decided(store, run, selected_by="MODEL", control="PHYSICAL")[:2]
    for consignment in (busy, finished):
        order = _order_of(store, run, consignment)
        assert order is not None
        control.start_order(store, order.order_id, actor="ins")
    finished_order = _order_of(store, run, finished)
    assert finished_order is not None
    control.record_outcome(store, finished_order.order_id, result="COMPLIANT", actor="ins")
    with pytest.raises(ConflictError, match=r"is in_progress: the control has begun"):
        decisions.override_lane(store, run, busy, lane="green", reason_code="OPERATIONAL",
                                actor="ana")  # fmt: skip
    with pytest.raises(ConflictError, match=r"is done: the control is finished"):
        decisions.override_lane(store, run, finished, lane="orange", reason_code="OPERATIONAL",
                                actor="ana")  # fmt: skip
    assert not _decision(store, run, busy).overridden, "a refused override stores nothing"
    assert _order_of(store, run, busy).state == "in_progress"  # type: ignore[union-attr]


def test_the_random_sample_is_never_lowered(selected: tuple[Store, str]) -> None:
    store, run = selected
    drawn = _decided(store, run, selected_by="RANDOM", control="SCAN")[0]
    for lane in ("yellow", "green", "blue"):
        with pytest.raises(ConflictError, match="random sample must stay unbiased"):
            decisions.override_lane(store, run, drawn, lane=lane, reason_code="AEO_FACILITATION",
                                    actor="ana")  # fmt: skip
    raised = decisions.override_lane(store, run, drawn, lane="red",
                                     reason_code="NEW_INTELLIGENCE", actor="ana")  # fmt: skip
    back = decisions.override_lane(store, run, drawn, lane="orange",
                                   reason_code="OFFICER_JUDGEMENT", note="alert withdrawn",
                                   actor="ana")  # fmt: skip
    assert (raised.override.from_lane, back.override.from_lane) == ("orange", "red")
    control.create_orders(store, run, actor="ana")
    order = _order_of(store, run, drawn)
    assert order is not None and (order.selected_by, order.control_type) == ("RANDOM", "SCAN")


def test_the_newest_override_wins_and_history_is_kept(selected: tuple[Store, str]) -> None:
    store, run = selected
    consignment = _decided(store, run, selected_by="NONE", control=None)[0]
    for lane in ("yellow", "red", "orange"):
        decisions.override_lane(store, run, consignment, lane=lane,
                                reason_code="PARTNER_REQUEST", actor="ana")  # fmt: skip
    shown = _decision(store, run, consignment)
    assert [(o.from_lane, o.to_lane) for o in shown.overrides] == [
        ("green", "yellow"), ("yellow", "red"), ("red", "orange"),
    ]  # fmt: skip
    assert (shown.lane, shown.control_type) == ("orange", "SCAN")
    events = [e for e in audit.audit_log(store, limit=10) if e.action == "lane_override"]
    assert len(events) == 3 and events[0].object_id == consignment
    assert events[0].details["reason_code"] == "PARTNER_REQUEST"
    assert audit.verify_audit(store).events >= 3


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"reason_code": ""}, "reason_code", "needs a reason code"),
        ({"reason_code": "BORED"}, "reason_code", "unknown reason code 'BORED'"),
        ({"lane": "purple"}, "lane", "unknown lane 'purple'"),
        ({"lane": "green"}, "lane", "in the green lane already"),
        ({"reason_code": "OFFICER_JUDGEMENT"}, "note", "must not be empty"),
        ({"note": "x" * 1001}, "note", "at most 1000 characters, got 1001"),
        ({"note": "a\x00b"}, "note", "control character"),
    ],
)
def test_a_bad_override_names_its_field(
    selected: tuple[Store, str], changes: dict[str, str], field: str, message: str
) -> None:
    store, run = selected
    consignment = _decided(store, run, selected_by="NONE", control=None)[0]
    if _decision(store, run, consignment).lane != "green":
        consignment = _decided(store, run, selected_by="NONE", control=None)[1]
    values = {"lane": "red", "reason_code": "NEW_INTELLIGENCE", "note": "", **changes}
    with pytest.raises(RecordError, match=message) as caught:
        decisions.override_lane(store, run, consignment, actor="ana", **values)
    assert caught.value.field == field
    assert not _decision(store, run, consignment).overridden


def test_unknown_runs_and_consignments_are_not_found(selected: tuple[Store, str]) -> None:
    store, run = selected
    consignment = _decided(store, run, selected_by="NONE", control=None)[0]
    with pytest.raises(NotFoundError, match="no selection run 'nope'"):
        decisions.override_lane(store, "nope", consignment, lane="red",
                                reason_code="NEW_INTELLIGENCE", actor="ana")  # fmt: skip
    with pytest.raises(NotFoundError, match="decided nothing on consignment 'X-1'"):
        decisions.override_lane(store, run, "X-1", lane="red", reason_code="NEW_INTELLIGENCE",
                                actor="ana")  # fmt: skip
    with pytest.raises(InputError, match="run_id must have 1 to 36 characters"):
        decisions.override_lane(store, "r" * 40, consignment, lane="red",
                                reason_code="NEW_INTELLIGENCE", actor="ana")  # fmt: skip
    with pytest.raises(NotFoundError, match="no consignment X-1"):
        decisions.decision_panel(store, "X-1")
    with pytest.raises(NotFoundError, match="no consignment X-1"):
        decisions.add_instruction(store, "X-1", text="look", actor="ana")


def test_examiner_instructions_are_kept(
    selected: tuple[Store, str],
) -> None:
    store, run = selected
    consignment = _decided(store, run, selected_by="MODEL", control="PHYSICAL")[0]
    first = decisions.add_instruction(store, consignment, text="  Check the reefer unit.\n",
                                      actor="ana")  # fmt: skip
    decisions.add_instruction(store, consignment, text="Bags behind the doors?", actor="bob")
    assert first.text == "Check the reefer unit." and first.version >= 1
    for text, message in (("   ", "must not be empty"), ("y" * 2001, "at most 2000 characters")):
        with pytest.raises(RecordError, match=message) as caught:
            decisions.add_instruction(store, consignment, text=text, actor="ana")
        assert caught.value.field == "text"
    panel = decisions.decision_panel(store, consignment)
    assert [(i.text, i.actor) for i in panel.instructions] == [
        ("Check the reefer unit.", "ana"), ("Bags behind the doors?", "bob"),
    ]  # fmt: skip


def test_a_referral_is_opened_and_closed_once(selected: tuple[Store, str]) -> None:
    store, run = selected
    consignment = _decided(store, run, selected_by="NONE", control=None)[0]
    opened = decisions.open_referral(store, consignment, kind="rfi",
                                     request="Send the commercial invoice", actor="ana")  # fmt: skip
    assert (opened.kind, opened.state, opened.result) == ("RFI", "open", None)
    assert decisions.decision_panel(store, consignment).open_referrals == 1
    closed = decisions.close_referral(store, opened.referral_id, result="Invoice matches",
                                      actor="bob")  # fmt: skip
    assert (closed.state, closed.result, closed.closed_by) == ("closed", "Invoice matches", "bob")
    assert closed.closed_at is not None and closed.opened_by == "ana"
    with pytest.raises(ConflictError, match="closed .* by bob; a closed referral stays closed"):
        decisions.close_referral(store, opened.referral_id, result="again", actor="bob")
    with pytest.raises(RecordError, match="unknown referral type 'XYZ'") as caught:
        decisions.open_referral(store, consignment, kind="XYZ", request="?", actor="ana")
    assert caught.value.field == "kind"
    with pytest.raises(RecordError, match="must not be empty") as caught:
        decisions.open_referral(store, consignment, kind="DNL", request=" ", actor="ana")
    assert caught.value.field == "request"
    with pytest.raises(NotFoundError, match="no referral 'nope'"):
        decisions.close_referral(store, "nope", result="x", actor="ana")
    panel = decisions.decision_panel(store, consignment)
    assert [(r.kind, r.state) for r in panel.referrals] == [("RFI", "closed")]
    assert panel.open_referrals == 0
    actions = [e.action for e in audit.audit_log(store, limit=5)]
    assert actions[:2] == ["referral_close", "referral_open"]


def test_the_worklist_shows_the_lane_in_force_and_marks_overrides(
    selected: tuple[Store, str],
) -> None:
    store, run = selected
    raised = _decided(store, run, selected_by="NONE", control=None)[0]
    lowered = _decided(store, run, selected_by="MODEL", control="DOCUMENTARY")[0]
    untouched = _decided(store, run, selected_by="MODEL", control="DOCUMENTARY")[1]
    before = {e.consignment_id for e in worklist.worklist(store, run)}
    assert raised not in before and lowered in before
    decisions.override_lane(store, run, raised, lane="orange", reason_code="PARTNER_REQUEST",
                            actor="ana")  # fmt: skip
    decisions.override_lane(store, run, lowered, lane="green", reason_code="DOCUMENTS_CLARIFIED",
                            actor="ana")  # fmt: skip
    decisions.open_referral(store, untouched, kind="RFS", request="Screen the box", actor="ana")
    control.create_orders(store, run, actor="ana")
    rows = {e.consignment_id: e for e in worklist.worklist(store, run)}
    up, down, plain = rows[raised], rows[lowered], rows[untouched]
    assert (up.lane, up.control_type, up.overridden, up.selected_by) == (
        "orange", "SCAN", True, "OFFICER",
    )  # fmt: skip
    assert up.propensity == 1.0 and up.order_state == "planned" and up.order_id
    assert (down.lane, down.control_type, down.overridden, down.order_id) == (
        "green", None, True, None,
    )  # fmt: skip
    assert (plain.lane, plain.overridden, plain.open_referrals) == ("yellow", False, 1)
    orange = worklist.worklist(store, run, worklist.WorklistFilter(lane="orange"))
    assert raised in {e.consignment_id for e in orange}
    summary = worklist.worklist_summary(store, run, worklist.WorklistFilter(lane="green"))
    assert summary.total == 1 and "green" in summary.lanes
    assert len(rows) == worklist.worklist_summary(store, run).total == len(before) + 1
