"""Floor 1, the system-level simulator: scenario files (``scenario``), the typed seam to the C++
core (``core_config``), the simulator and its replica batches (``simulator``) with their memory
guard (``memory_estimate``), path loss and antennas in NumPy (``radio``), the satisfaction/KPI
definitions (``satisfaction``), policy rollouts on the bare simulator (``simulate``) and layout maps
(``plots``). Imports only ``pyslice.base``."""
