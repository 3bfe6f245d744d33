"""How a run ended (studies/early_stops.py): no early stop may read as a run to the end
time, and a stop that says nothing about the cell (the step budget, an unknown reason) is
never turned into a stop-time difference between materials."""

from studies.early_stops import Stop, stop_answer, stop_of, stop_sentence


def _summary(t: float, reason: str | None) -> dict:
    return {"metrics": {"t_end_s": t, **({"stop_reason": reason} if reason else {})}}


def test_each_stop_reason_gets_its_kind():
    assert stop_of({}) is None
    assert stop_of(_summary(600.0, None)) == Stop(600.0, None)
    assert stop_of(_summary(600.0, "completed")) == Stop(600.0, None)
    assert stop_of(_summary(150.0, "voltage limit at t = 150 s: ...")).kind == "voltage limit"
    assert stop_of(_summary(9.0, "depleted: c_Li at the anode fell below ...")).kind == \
        "depleted"
    assert stop_of(_summary(5.0, "dendrite tip within 1 um of the cathode")).kind == \
        "dendrite tip"
    assert stop_of(_summary(5.0, "time-step failure: dt below dt_min")).kind == \
        "time-step failure"
    assert stop_of(_summary(5.0, "max_steps")).kind == "max_steps"
    assert stop_of(_summary(5.0, "a reason added later")).kind == "other"


def test_a_step_budget_stop_is_reported_and_not_compared():
    peo = {s: Stop(150.0 + s, "voltage limit") for s in range(1, 4)}
    plm = {s: Stop(40.0, "max_steps") for s in range(1, 4)}
    text = stop_sentence({"PEO": peo, "PLM": plm}, "PEO", "PLM")
    assert "PLM stopped at the step budget (time.max_steps) after 40 s for 3 of 3 seeds" in text
    assert "stop times not compared: a run ended at the step budget" in text
    assert "earlier" not in text and "later" not in text
    assert stop_answer({"PEO": peo, "PLM": plm}, "PLM", "PEO") is None
    # the same pair with physical stops is compared
    plm = {s: Stop(40.0, "time-step failure") for s in range(1, 4)}
    assert "PLM stops earlier than PEO for every seed (by 111-113 s)" in \
        stop_sentence({"PEO": peo, "PLM": plm}, "PEO", "PLM")
    assert stop_answer({"PEO": peo, "PLM": plm}, "PLM", "PEO") == \
        "PLM stops 111-113 s earlier than PEO (every seed)"


def test_an_unknown_reason_is_an_early_stop_not_a_run_to_the_end():
    stops = {"PEO": {1: Stop(600.0, None)}, "PLM": {1: Stop(80.0, "other")}}
    text = stop_sentence(stops, "PEO", "PLM")
    assert "PLM stopped at an unrecognised stop" in text
    assert "not compared" in text
