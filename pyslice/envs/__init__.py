"""Floor 2, the slicing environments on top of the simulator: the multi-agent environment
(``slicing``: state, reward, neighbour coordination) and its PettingZoo/Gymnasium faces
(``adapters``, imported here so that the env's factories find them), neighbour graphs (``neighbours``), the
traffic-aware baseline (``baselines``), reward relabelling (``relabel``), the gymnasium vector
environment (``vector_env``) and the gymnasium registry entries (``registration``)."""
from pyslice.envs import adapters  # noqa: E402,F401  (registers the standard wrappers the env's factories build)
