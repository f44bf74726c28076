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
    tail probability hits 1/(n+1)).

    Each feature's training values are kept as their distinct values with cumulative counts:
    most features take a few dozen values (counts, ratios of small counts), so a tail count is
    a binary search in an array that fits the cache, and millions of training windows cost
    megabytes. The moments are summed chunk by chunk, in the row order NumPy sums a whole
    matrix in, so the skew (and every score) is the one of the plain computation, bit for bit.
    """

    values: list[np.ndarray]  # per feature: the distinct training values, ascending
    below: list[np.ndarray]  # per feature: training values <= values[i], with a 0 in front
    skew_left: np.ndarray
    n: int

    @classmethod
    def fit(cls, x: np.ndarray, *, rows: np.ndarray | None = None, chunk: int = 65536) -> Ecod:
        """Fit on `x` (on x[rows] when given, without copying them out)."""
        x = np.asarray(x)
        rows = np.arange(len(x)) if rows is None else rows
        n = len(rows)

        def column_sums(term) -> np.ndarray:
            # Each chunk is summed on top of the running sums: the same additions, in the
            # same order, as np.sum over the whole float64 matrix along axis 0.
            total = np.zeros((1, x.shape[1]))
            for lo in range(0, n, chunk):
                block = term(np.asarray(x[rows[lo:lo + chunk]], dtype=np.float64))
                total = np.add.reduce(np.concatenate([total, block]), axis=0, keepdims=True)
            return total[0]

        mean = column_sums(lambda b: b) / n
        centred_mean = column_sums(lambda b: b - mean) / n
        std = np.sqrt(column_sums(lambda b: np.square(b - mean - centred_mean)) / n)
        third = column_sums(lambda b: (b - mean) ** 3) / n
        skew = np.where(std > 0, third / np.maximum(std, 1e-12) ** 3, 0.0)
        values, below = [], []
        for j in range(x.shape[1]):
            distinct, counts = np.unique(x[rows, j], return_counts=True)
            values.append(distinct)
            below.append(np.r_[0, np.cumsum(counts)])
        return cls(values, below, skew < 0, n)

    def score(self, x: np.ndarray, *, rows: np.ndarray | None = None,
              chunk: int = 65536) -> np.ndarray:
        """Scores of `x` (of x[rows] when given)."""
        x = np.asarray(x)
        rows = np.arange(len(x)) if rows is None else rows
        n = self.n
        out = np.empty(len(rows))
        for lo in range(0, len(rows), chunk):
            xc = x[rows[lo:lo + chunk]]
            left = np.empty(xc.shape)
            right = np.empty(xc.shape)
            for j in range(xc.shape[1]):
                values, below, query = self.values[j], self.below[j], xc[:, j]
                if values.dtype != query.dtype:
                    common = np.result_type(values, query)
                    values, query = values.astype(common), query.astype(common)
                left[:, j] = below[np.searchsorted(values, query, side="right")]
                right[:, j] = n - below[np.searchsorted(values, query, side="left")]
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

    def score(self, x: np.ndarray, *, rows: np.ndarray | None = None) -> np.ndarray:
        return -self.model.score_samples(x if rows is None else x[rows])


def fit_baseline(name: str, x: np.ndarray, *, seed: int,
                 rows: np.ndarray | None = None) -> Ecod | IForest:
    """Baseline by name ("ecod" or "iforest"), fitted on x (on x[rows] when given)."""
    if name == "ecod":
        return Ecod.fit(x, rows=rows)
    if name == "iforest":
        return IForest.fit(x if rows is None else x[rows], seed=seed)
    raise ValueError(f"unknown baseline {name!r}: use 'ecod' or 'iforest'")
