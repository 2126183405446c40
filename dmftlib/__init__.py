"""dmftlib: dynamical mean-field theory of learning dynamics, in small vectorized NumPy.

Three floors, imports running downward only:

* models (one module per model: ``learning``, ``signal_propagation``, ``rnn``, ``linear``, ...),
  each giving the N -> infinity theory and the finite-N simulation of the same parameters;
* ``dmftlib.core``: Gaussian expectations, time grids, damped fixed points, random matrices;
* ``dmftlib.symbolic``: SymPy derivations, each tested against the numerical code.

Beside them: ``dmftlib.plotting`` (the house style) and ``dmftlib.sweeps``.
"""
from .core import ConvergenceError

__version__ = "0.1.0"
__all__ = ["ConvergenceError", "__version__"]
