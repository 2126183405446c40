"""dmftlib.symbolic: SymPy derivations (MSR action and saddle point, Lagrangians, costates).

Each derivation is a real SymPy computation, paired with the numerical function in the
model modules that it is tested against (lambdified results vs numerics).
"""
