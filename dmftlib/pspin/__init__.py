"""The spherical p-spin and the spiked matrix-tensor model.

* ``dmftlib.pspin.aging``: gradient flow and Langevin dynamics of the spherical p-spin (Cugliandolo-Kurchan equations).
* ``dmftlib.pspin.spiked``: the spiked matrix-tensor model with gradient flow, heavy-ball momentum and Nesterov acceleration.
"""
from .aging import *  # noqa: F401,F403
from .spiked import *  # noqa: F401,F403
from . import aging, spiked  # noqa: F401
