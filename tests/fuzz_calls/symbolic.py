"""Fuzz examples for dmftlib.symbolic (small sizes: the SymPy expressions swell fast); see README.md."""

CALLS = {
    "dmftlib.symbolic.riccati.riccati_two_ways": dict(n=1, m=1),
    "dmftlib.symbolic.training_msr.drift": dict(K=1, M=1, L=2),
    "dmftlib.symbolic.training_msr.sgd_increments": dict(K=1, M=1, N=2),
}
