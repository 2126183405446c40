"""Fuzz examples for dmftlib.exercises (read by tests/test_fuzz_api.py)."""
CALLS = {
    "dmftlib.exercises.check": {"label": "ex-cm-2", "answer": 0.07},
    "dmftlib.exercises.is_correct": {"label": "ex-cm-2", "answer": 0.07},
}
