"""Findings in words: which features the autoencoder failed to reconstruct, with the value
and the usual range, and a guessed category for the finding.

Why normalised per-feature errors: a feature that is noisy in normal traffic (request count)
has a large error everywhere; dividing by its mean training error makes "3 new countries"
stand out over "12 requests instead of 9", as the reference measurements recommend.
"""

from __future__ import annotations

import numpy as np

from .features import FEATURES

_PCT = "{v:.0%}"
TEMPLATES: dict[str, str] = {
    "requests": "{v:.0f} requests in {w} (usual: {lo}-{hi})",
    "relative_volume": "{v:.1f}x this {s}'s usual volume per {unit} (usual: {lo}-{hi}x)",
    "failure_ratio": "{v:.0%} of requests failed (usual: {lo}-{hi})",
    "failures": "{v:.0f} failed requests in {w} (usual: {lo}-{hi})",
    "unknown_key_ratio": "{v:.0%} of requests used keys that never validated (usual: {lo}-{hi})",
    "limit_ratio": "{v:.0%} of requests refused: machine limit reached (usual: {lo}-{hi})",
    "other_failure_ratio": "{v:.0%} of requests failed (blocked, invalid...) (usual: {lo}-{hi})",
    "floating_refused_ratio": "{v:.0%} of floating activations refused, no free seat "
                              "(usual: {lo}-{hi})",
    "floating_share": "{v:.0%} of requests were floating activations (usual: {lo}-{hi})",
    "overdraft_ratio": "{v:.0%} of floating activations in overdraft (usual: {lo}-{hi})",
    "machines": "{v:.0f} distinct machine codes in {w} (usual: {lo}-{hi})",
    "ips": "{v:.0f} distinct IP addresses in {w} (usual: {lo}-{hi})",
    "countries": "{v:.0f} distinct countries in {w} (usual: {lo}-{hi})",
    "keys": "{v:.0f} distinct license keys in {w} (usual: {lo}-{hi})",
    "new_machines": "{v:.0f} new machine codes in {w} (usual: {lo}-{hi})",
    "new_countries": "{v:.0f} countries never seen for this {s} in {w} (usual: {lo}-{hi})",
    "new_ips": "{v:.0f} IP addresses never seen for this {s} in {w} (usual: {lo}-{hi})",
    "new_activations": "{v:.0f} new device activations in {w} (usual: {lo}-{hi})",
    "deactivations": "{v:.0f} deactivations in {w} (usual: {lo}-{hi})",
    "churn": "{v:.0f} activate/deactivate cycles in {w} (usual: {lo}-{hi})",
    "hour_typicality": "active at {hour:02d}:00 UTC, an hour this {s} is rarely used "
                       "({v:.2f}x its average hourly share; usual: {lo}-{hi}x)",
    "hour_sin": "active at {hour:02d}:00 UTC",
    "hour_cos": "active at {hour:02d}:00 UTC",
    "weekend": "active on a weekend",
    "regularity": "requests at machine-like regular intervals (variation {v:.2f}, "
                  "usual: {lo}-{hi})",
    "history_windows": "little history for this {s} ({v:.0f} earlier active windows)",
    "failure_surprise": "{v:.1f}x the failures this {s}'s own history predicts (usual: {lo}-{hi}x)",
    "recent_machines": "{v:.0f} machine codes first seen in the last 24 hours (usual: {lo}-{hi})",
    "foreign_new_machines": "{v:.1f} new machine codes used from countries new for this {s} "
                            "(usual: {lo}-{hi})",
    "recent_countries": "{v:.0f} countries first seen for this {s} in the last 24 hours "
                        "(usual: {lo}-{hi})",
    "recent_ips": "{v:.0f} IP addresses first seen for this {s} in the last 24 hours "
                  "(usual: {lo}-{hi})",
}
RATIOS = frozenset(n for n, t in TEMPLATES.items() if t.startswith("{v:.0%}"))
CATEGORIES: dict[str, dict[str, float]] = {
    "Brute-force key guessing": {"unknown_key_ratio": 1.0, "keys": 1.0, "failures": 0.5},
    "Key sharing": {"machines": 1.0, "new_machines": 1.0, "countries": 1.0, "ips": 0.7,
                    "new_ips": 0.7, "limit_ratio": 1.0, "new_countries": 0.5,
                    "recent_machines": 1.0, "recent_ips": 0.5, "recent_countries": 0.5,
                    "foreign_new_machines": 0.6},
    "API hammering": {"requests": 1.0, "relative_volume": 1.0, "regularity": 1.0},
    "Off-hours use from a new country": {"hour_typicality": 1.5, "new_countries": 0.6,
                                         "foreign_new_machines": 0.5,
                                         "recent_countries": 0.6,
                                         "hour_sin": 0.5, "hour_cos": 0.5},
    "Seat churn": {"deactivations": 1.2, "churn": 1.5, "new_activations": 0.8},
    "Failed verifications": {"failure_ratio": 1.0, "other_failure_ratio": 1.2, "failures": 1.0,
                             "failure_surprise": 1.2},
    "Floating seats exhausted": {"floating_refused_ratio": 1.5, "floating_share": 0.5,
                                 "overdraft_ratio": 1.0},
}
SKIP = frozenset({"is_ip"})


def _fmt_range(name: str, lo: float, hi: float) -> tuple[str, str]:
    if name in RATIOS:
        return f"{lo:.0%}", f"{hi:.0%}"
    if name in ("relative_volume", "hour_typicality", "regularity", "failure_surprise"):
        return f"{lo:.2g}", f"{hi:.2g}"
    return f"{lo:.0f}", f"{hi:.0f}"


def window_words(seconds: float) -> str:
    hours = seconds / 3600
    return "1 hour" if hours == 1 else f"{hours:g} hours"


def sentence(name: str, value: float, usual: tuple[float, float], *, kind: int, hour: int,
             window: str) -> str:
    """One readable reason for feature `name` of a window."""
    lo, hi = _fmt_range(name, *usual)
    return TEMPLATES[name].format(v=value, lo=lo, hi=hi, w=window, hour=hour,
                                  s="IP" if kind else "key",
                                  unit=window.removeprefix("1 "))


def reasons_for(raw: np.ndarray, contrib: np.ndarray, usual: np.ndarray, *, kind: int,
                hour: int, window: str, top: int = 3) -> list[str]:
    """Top features by normalised reconstruction error, in words; features whose value is
    inside its usual range come last, they explain less."""
    ranked = [j for j in np.argsort(-contrib) if FEATURES[j] not in SKIP]
    outside = [j for j in ranked if not usual[j, 0] <= raw[j] <= usual[j, 1]]
    chosen = (outside + [j for j in ranked if j not in outside])[:top]
    out: list[str] = []
    for j in chosen:
        text = sentence(FEATURES[j], float(raw[j]), (float(usual[j, 0]), float(usual[j, 1])),
                        kind=kind, hour=hour, window=window)
        if text not in out:
            out.append(text)
    return out


def label_for(contrib: np.ndarray, kind: int, raw: np.ndarray | None = None) -> str:
    """Category of a flagged window. A few raw values are unambiguous (hundreds of keys from
    one IP, most floating activations refused, repeated activate/deactivate cycles); else
    the category whose features carry most of the reconstruction error."""
    if raw is not None:
        value = dict(zip(FEATURES, raw, strict=True))
        if kind == 1 and value["unknown_key_ratio"] >= 0.5 and value["keys"] >= 10:
            return "Brute-force key guessing"
        if value["floating_refused_ratio"] >= 0.3:
            return "Floating seats exhausted"
        if kind == 0 and value["churn"] >= 2:
            return "Seat churn"
        if kind == 0 and value["recent_machines"] >= 3 and value["countries"] >= 3:
            return "Key sharing"
        if kind == 0 and value["foreign_new_machines"] >= 1 and value["machines"] <= 2 \
                and value["hour_typicality"] < 0.5:
            return "Off-hours use from a new country"
    by_name = dict(zip(FEATURES, contrib, strict=True))
    scores = {label: sum(w * by_name[f] for f, w in feats.items())
              for label, feats in CATEGORIES.items()}
    if kind == 0:
        scores.pop("Brute-force key guessing")
    return max(scores, key=lambda k: scores[k])
