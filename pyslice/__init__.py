"""pyslice: multi-cell network-slicing simulator with coordinated DRL and transfer learning."""
from pyslice.scenario import Scenario
from pyslice.simulator import Simulator, SimulatorBatch, StepResult
from pyslice.env import SlicingEnv
from pyslice.registration import register_envs

register_envs()  # gymnasium ids: pyslice/SingleCell-v0 (pyslice.registration)

__all__ = ["Scenario", "Simulator", "SimulatorBatch", "SlicingEnv", "StepResult"]
__version__ = "0.1.0"
