"""Fuzz examples for dmftlib.symbolic (small sizes: the SymPy expressions swell fast); see README.md."""

CALLS = {
    "dmftlib.symbolic.riccati.riccati_two_ways": dict(n=1, m=1),
}
