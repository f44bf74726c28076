"""The autoencoder, its robust input scaling, and the latent-space neighbour score.

Why this shape: the reference prototype showed a small MLP (d -> 32 -> 16 -> z -> 16 -> 32
-> d) matches deeper models on ~25 aggregated features, and trains in seconds on CPU. The
bottleneck z is narrower than the input so the network must learn the dependencies between
features (new machine *and* new country *and* odd hour), which per-feature methods like ECOD
cannot see.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

CLIP = 20.0


@dataclass
class RobustScaler:
    """Median / IQR scaling fitted on training windows, clipped to +-20 so one absurd value
    cannot dominate the loss. Mostly-zero features (new machines, failure ratios) have an
    IQR of 0; a per-feature floor on the scale keeps their rare benign values (one new
    machine, one mistyped key) moderate instead of as extreme as a real attack, so both the
    ranking among rare values and the clip keep their meaning."""

    median: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, *, floors: np.ndarray | None = None,
            rows: np.ndarray | None = None) -> RobustScaler:
        """Fit on `x` (on x[rows] when given), one feature at a time: order statistics of a
        column are the same taken alone, and a column at a time is a small copy."""
        med, q75, q25 = (np.empty(x.shape[1], dtype=x.dtype) for _ in range(3))
        for j in range(x.shape[1]):
            column = x[:, j] if rows is None else x[rows, j]
            med[j] = np.median(column)
            q75[j], q25[j] = np.percentile(column, 75), np.percentile(column, 25)
        iqr = q75 - q25
        floors = np.full(x.shape[1], 1e-3) if floors is None else floors
        scale = np.maximum(iqr, floors)
        return cls(med.astype(np.float32), scale.astype(np.float32))

    def transform(self, x: np.ndarray, chunk: int = 65536,
                  out: np.ndarray | None = None) -> np.ndarray:
        """Scaled and clipped float32 copy of `x`, written into `out` when given (which may be
        `x` itself: a chunk at a time is read before it is written)."""
        out = np.empty(x.shape, dtype=np.float32) if out is None else out
        for lo in range(0, len(x), chunk):
            out[lo:lo + chunk] = np.clip((x[lo:lo + chunk] - self.median) / self.scale,
                                         -CLIP, CLIP)
        return out


class AutoEncoder(nn.Module):
    """MLP autoencoder with a `bottleneck`-wide code."""

    def __init__(self, n_features: int, hidden: tuple[int, ...], bottleneck: int) -> None:
        super().__init__()
        sizes = (n_features, *hidden, bottleneck)
        self.encoder = _mlp(sizes)
        self.decoder = _mlp(tuple(reversed(sizes)))
        self.shape = (n_features, tuple(hidden), bottleneck)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def _mlp(sizes: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


@contextlib.contextmanager
def deterministic(seed: int, threads: int) -> Iterator[None]:
    """Seeded, fixed-thread, deterministic-kernel torch for the duration of a block; the
    previous thread count and mode are restored (a Celery worker runs other tasks too)."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det)


def train_autoencoder(x: np.ndarray, *, seed: int, hidden: tuple[int, ...], bottleneck: int,
                      epochs: int, batch_size: int, lr: float,
                      weight_decay: float) -> tuple[AutoEncoder, list[float]]:
    """Adam on MSE; returns the model (eval mode) and the mean loss of each epoch."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = AutoEncoder(x.shape[1], hidden, bottleneck)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    data = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    losses: list[float] = []
    model.train()
    for _ in range(epochs):
        perm = torch.from_numpy(rng.permutation(len(data)))
        total = 0.0
        for lo in range(0, len(data), batch_size):
            batch = data[perm[lo:lo + batch_size]]
            loss = ((model(batch) - batch) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(batch)
        losses.append(total / len(data))
    model.eval()
    return model, losses


@torch.no_grad()
def encode(model: AutoEncoder, x: np.ndarray,
           chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """(latent codes, per-feature squared reconstruction errors) for scaled inputs."""
    latents, errors = [], []
    for lo in range(0, len(x), chunk):
        batch = torch.from_numpy(np.ascontiguousarray(x[lo:lo + chunk], dtype=np.float32))
        z = model.encoder(batch)
        errors.append(((model.decoder(z) - batch) ** 2).numpy())
        latents.append(z.numpy())
    if not latents:
        n, _, b = model.shape
        return np.zeros((0, b), np.float32), np.zeros((0, n), np.float32)
    return np.concatenate(latents), np.concatenate(errors)


@torch.no_grad()
def knn_distance(reference: np.ndarray, query: np.ndarray, k: int,
                 chunk: int = 4096) -> np.ndarray:
    """Mean Euclidean distance from each query code to its k nearest reference codes: far
    from every normal code = unlike anything seen, even when reconstruction is good."""
    ref = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))
    k = max(1, min(k, len(ref)))
    out = np.empty(len(query), dtype=np.float64)
    for lo in range(0, len(query), chunk):
        q = torch.from_numpy(np.ascontiguousarray(query[lo:lo + chunk], dtype=np.float32))
        d = torch.cdist(q, ref)
        out[lo:lo + chunk] = d.topk(k, dim=1, largest=False).values.mean(dim=1).numpy()
    return out


def state_arrays(model: AutoEncoder) -> dict[str, np.ndarray]:
    """Weights as plain arrays (stored with np.savez, no pickle)."""
    return {f"w_{k}": v.detach().numpy().copy() for k, v in model.state_dict().items()}


def model_from_arrays(arrays: dict[str, np.ndarray], n_features: int, hidden: tuple[int, ...],
                      bottleneck: int) -> AutoEncoder:
    model = AutoEncoder(n_features, hidden, bottleneck)
    state = {k[2:]: torch.from_numpy(v.copy()) for k, v in arrays.items() if k.startswith("w_")}
    model.load_state_dict(state)
    model.eval()
    return model
