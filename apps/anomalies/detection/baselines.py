"""Shallow detectors: ECOD (own NumPy implementation) and IsolationForest (scikit-learn).

Why both here: they clean the training history before the autoencoder sees it (a robust
method that anomalies in the training data hardly bend), and they are the baselines the
evaluation compares the autoencoder with on the same features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import IsolationForest


@dataclass
class Ecod:
    """ECOD (Li et al., TKDE 2022): per-feature empirical CDF tail probabilities, summed as
    -log, left tail, right tail and the skewness-chosen tail; the score is the largest of the
    three. Parameter-free, and it extrapolates in order (a bigger spike scores higher until the
    tail probability hits 1/(n+1))."""

    sorted_columns: np.ndarray
    skew_left: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Ecod:
        x = np.asarray(x, dtype=np.float64)
        centred = x - x.mean(axis=0)
        std = centred.std(axis=0)
        skew = np.where(std > 0, (centred**3).mean(axis=0) / np.maximum(std, 1e-12) ** 3, 0.0)
        return cls(np.sort(x, axis=0), skew < 0)

    def score(self, x: np.ndarray, chunk: int = 65536) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        n = self.sorted_columns.shape[0]
        out = np.empty(len(x))
        for lo in range(0, len(x), chunk):
            xc = x[lo:lo + chunk]
            left = np.empty_like(xc)
            right = np.empty_like(xc)
            for j in range(xc.shape[1]):
                col = self.sorted_columns[:, j]
                left[:, j] = np.searchsorted(col, xc[:, j], side="right")
                right[:, j] = n - np.searchsorted(col, xc[:, j], side="left")
            nl = -np.log(np.maximum(left, 1) / (n + 1))
            nr = -np.log(np.maximum(right, 1) / (n + 1))
            auto = np.where(self.skew_left, nl, nr)
            out[lo:lo + chunk] = np.maximum.reduce([nl.sum(1), nr.sum(1), auto.sum(1)])
        return out


@dataclass
class IForest:
    """scikit-learn IsolationForest with a fixed seed, higher score = more anomalous."""

    model: IsolationForest

    @classmethod
    def fit(cls, x: np.ndarray, *, seed: int, n_estimators: int = 200) -> IForest:
        model = IsolationForest(n_estimators=n_estimators, random_state=seed, n_jobs=1)
        return cls(model.fit(x))

    def score(self, x: np.ndarray) -> np.ndarray:
        return -self.model.score_samples(x)


def fit_baseline(name: str, x: np.ndarray, *, seed: int) -> Ecod | IForest:
    """Baseline by name ("ecod" or "iforest")."""
    if name == "ecod":
        return Ecod.fit(x)
    if name == "iforest":
        return IForest.fit(x, seed=seed)
    raise ValueError(f"unknown baseline {name!r}: use 'ecod' or 'iforest'")
