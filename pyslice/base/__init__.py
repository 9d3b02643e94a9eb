"""Floor 0, foundations shared by every layer: input checks (``validation``), atomic writes
(``atomic``), safe tensor files (``safe_io``), run-directory locks (``runlock``), verified
artifacts (``artifacts``) and bootstrap statistics (``statistics``). Imports nothing from pyslice."""
