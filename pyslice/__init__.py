"""pyslice: multi-cell network-slicing simulator with coordinated DRL and transfer learning."""
from typing import Any

from pyslice import _core
from pyslice.sim.scenario import Scenario
from pyslice.sim.simulator import Simulator, SimulatorBatch, StepResult
from pyslice.envs.slicing import SlicingEnv
from pyslice.envs.registration import register_envs

register_envs()  # gymnasium ids: pyslice/SingleCell-v0 (pyslice.envs.registration)

__all__ = ["Scenario", "Simulator", "SimulatorBatch", "SlicingEnv", "StepResult", "build_info"]
__version__ = "0.1.0"


def build_info() -> dict[str, Any]:
    """How the C++ core was built (``build``: portable or native, compiler, processor) and which SIMD
    level of its kernels runs (``simd_level``), why (``simd_reason``), which levels the build has
    and which this CPU supports. ``PYSLICE_SIMD=baseline|avx2|avx512`` in the environment before
    import asks for a lower level."""
    return {"version": __version__, **_core.build_info()}
