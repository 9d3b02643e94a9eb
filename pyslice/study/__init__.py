"""Floor 4, the paper's study: cell similarity (``similarity``), transfer strategies and runs
(``transfer``, ``transfer_runs``), the ``reproduce`` pipeline (``experiment``), its report,
figures and tidy tables (``report``, ``figures``, ``tidy``), TensorBoard logs of a study
(``tensorboard_logs``), settings sweeps (``sweep``) and task executors (``executor``)."""
