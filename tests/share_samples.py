"""Random PRB share matrices for tests (shared by several test modules)."""
from __future__ import annotations

import numpy as np


def random_shares(rng: np.random.Generator, K: int, N: int, p_zero: float = 0.25) -> np.ndarray:
    """Random simplex rows, some entries exactly 0 (and some rows one-hot)."""
    a = rng.dirichlet(np.ones(N), size=K)
    a[rng.random((K, N)) < p_zero] = 0.0
    for k in range(K):
        if a[k].sum() == 0.0:
            a[k, rng.integers(N)] = 1.0
    return a / a.sum(axis=1, keepdims=True)
