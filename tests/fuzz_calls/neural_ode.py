"""Fuzz baselines for dmftlib.neural_ode, dmftlib.neural_ode_dmft and their symbolic modules
(read by tests/test_fuzz_api.py; ``Lazy`` is provided by it)."""
import numpy as np


def _linear_setup():
    from dmftlib import neural_ode
    return neural_ode.setup(K=1, M=1, L=2, a_star=0.0)


def _setup2():
    from dmftlib import neural_ode
    return neural_ode.setup(K=2, M=2, L=2)


def _theory2():
    from dmftlib import neural_ode
    return neural_ode.theory(_setup2(), 0.5, np.linspace(0.0, 1.0, 3), n_nodes=9)


def _state1():
    return dict(Q=np.array([[1.2]]), R=np.array([[0.9]]), A=np.zeros((2, 1, 1)), b=np.zeros((2, 1)))


_lin = Lazy(_linear_setup)
_s2 = Lazy(_setup2)

CALLS = {
    "dmftlib.neural_ode.asymmetry": dict(res=Lazy(_theory2)),
    "dmftlib.neural_ode.escape_times": dict(res=Lazy(_theory2), threshold=0.6),
    "dmftlib.neural_ode.linearization": dict(sp_=_lin, eta=1.0, eta_theta=0.0, sigma=0.5, n_nodes=21, **_state1()),
    "dmftlib.neural_ode.plateau": dict(sp_=_lin, eta=1.0, eta_theta=0.0, sigma=0.5, n_nodes=21, **_state1()),
    "dmftlib.neural_ode.realize": dict(sp_=_s2, N=20),
    "dmftlib.neural_ode.rhs": dict(sp_=_s2, Q=Lazy(lambda: _setup2().Q0), R=Lazy(lambda: _setup2().R0),
                                   theta=Lazy(lambda: _setup2().theta0), eta=0.5, n_nodes=9),
}


# ---------------------------------------------------------------- dmftlib.neural_ode_dmft
_G4, _U4 = (0.5, 0.5, 0.5, 0.5), (0.0, 0.0, 0.0, 0.0)
_T3 = np.array([0.0, 1.0, 2.0])


def _nd_theory():
    from dmftlib import neural_ode_dmft
    return neural_ode_dmft.theory(t=_T3, n_depth=8)


def _nd_sims():
    from dmftlib import neural_ode_dmft
    return [neural_ode_dmft.simulate(N=N, t=_T3, seeds=2, n_depth=8) for N in (30, 40)]


def _nd_saved():
    import os
    import tempfile
    from dmftlib import neural_ode_dmft
    path = os.path.join(tempfile.mkdtemp(prefix="dmftlib-fuzz-"), "nd.npz")
    neural_ode_dmft.save_results(path, th=_ndth.get())
    return path


def _tmp_path():
    import os
    import tempfile
    return os.path.join(tempfile.mkdtemp(prefix="dmftlib-fuzz-"), "nd_out.npz")


_ndth = Lazy(_nd_theory)
_ndsims = Lazy(_nd_sims)

CALLS.update({
    "dmftlib.neural_ode_dmft.closure": dict(G=np.full((2, 4), 0.5), U=np.zeros((2, 4)), dt=0.25, phi="erf"),
    "dmftlib.neural_ode_dmft.finite_size_deviation": dict(th=_ndth, sims=_ndsims),
    "dmftlib.neural_ode_dmft.hessian": dict(g=_G4, u=_U4, n_depth=8),
    "dmftlib.neural_ode_dmft.linear_closed_form": dict(g_a=(0.5, 1.0), u_a=(0.0, 0.2), g_b=(0.7, 0.7),
                                                       u_b=(0.1, 0.0), tau_max=1.0, n_depth=8, n_max=40),
    "dmftlib.neural_ode_dmft.load_results": dict(path=Lazy(_nd_saved)),
    "dmftlib.neural_ode_dmft.save_results": dict(path=Lazy(_tmp_path)),
    "dmftlib.neural_ode_dmft.loss_and_gradient": dict(g=(0.5,), u=(0.0,), g_teacher=(1.0,), u_teacher=(0.0,),
                                                      tau_max=1.0, n_depth=10),
    "dmftlib.neural_ode_dmft.phi_fn": dict(h=np.array([-1.0, 0.0, 1.0])),
    "dmftlib.neural_ode_dmft.phi_kernel": dict(c11=1.0, c22=1.0, c12=0.5),
    "dmftlib.neural_ode_dmft.plot_depth_overlap": dict(th=_ndth),
    "dmftlib.neural_ode_dmft.plot_learning_curve": dict(th=_ndth),
    "dmftlib.neural_ode_dmft.sample_gradient": dict(N=40, g=_G4, u=_U4, seeds=2, n_samples=8, n_depth=8),
    # symbolic
    "dmftlib.symbolic.neural_ode_msr.noise_kernel": dict(d=Lazy(lambda: __import__(
        "dmftlib.symbolic.neural_ode_msr", fromlist=["derive"]).derive(T=1, N=1))),
    "dmftlib.symbolic.training_msr.drift": dict(K=1, M=1, L=2),
    "dmftlib.symbolic.training_msr.sgd_increments": dict(K=2, M=1, N=3),
})
