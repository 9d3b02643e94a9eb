"""pyslice: multi-cell network-slicing simulator with coordinated DRL and transfer learning."""
from pyslice.sim.scenario import Scenario
from pyslice.sim.simulator import Simulator, SimulatorBatch, StepResult
from pyslice.envs.slicing import SlicingEnv
from pyslice.envs.registration import register_envs

register_envs()  # gymnasium ids: pyslice/SingleCell-v0 (pyslice.envs.registration)

__all__ = ["Scenario", "Simulator", "SimulatorBatch", "SlicingEnv", "StepResult"]
__version__ = "0.1.0"
