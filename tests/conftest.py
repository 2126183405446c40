"""pytest configuration of the test folder."""

# Example tables read by tests/test_fuzz_api.py (they need its `Lazy`): not test modules.
collect_ignore = ["fuzz_calls"]
