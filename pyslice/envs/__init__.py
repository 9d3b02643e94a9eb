"""Floor 2, the slicing environments on top of the simulator: the multi-agent environment
(``slicing``: state, reward, neighbour coordination), neighbour graphs (``neighbours``), the
traffic-aware baseline (``baselines``), reward relabelling (``relabel``), the gymnasium vector
environment (``vector_env``) and the gymnasium registry entries (``registration``)."""
