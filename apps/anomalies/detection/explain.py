"""Findings in words: a label (what kind of finding) and the reasons for it, derived together
from the same features.

Why together: a label is a claim ("API hammering": far more calls than usual) and its reasons
are the evidence. A feature supports a claim only when its value, as shown, lies outside the
usual range on the claim's side: more calls than usual for hammering, *less* variation of the
intervals than usual for a machine-like client, a *rarer* hour for off-hours use. The label is
the category whose supporting features carry most of the reconstruction error, and its
reasons are exactly those features, so a reason never contradicts its label (no "0.0x the
usual volume" under "API hammering"). A window whose deviations support no category is
"Unusual activity", explained by its most deviating features in neutral words.

Why normalised per-feature errors: a feature that is noisy in normal traffic (request count)
has a large error everywhere; dividing by its mean training error makes "3 new countries"
stand out over "12 requests instead of 9", as the reference measurements recommend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .features import FEATURES, RATIO_FEATURES

BRUTE_FORCE = "Brute-force key guessing"
KEY_SHARING = "Key sharing"
HAMMERING = "API hammering"
OFF_HOURS = "Off-hours use from a new country"
SEAT_CHURN = "Seat churn"
FAILED = "Failed verifications"
FLOATING = "Floating seats exhausted"
UNUSUAL = "Unusual activity"
FLOATING_REFUSED_STATE = 2024

# Label -> the features that can support it, with their weight in choosing the label.
CATEGORIES: dict[str, dict[str, float]] = {
    BRUTE_FORCE: {"unknown_key_ratio": 1.0, "keys": 1.0, "failures": 0.5},
    KEY_SHARING: {"machines": 1.0, "new_machines": 1.0, "countries": 1.0, "ips": 0.7,
                  "new_ips": 0.7, "limit_ratio": 1.0, "new_countries": 0.5,
                  "recent_machines": 1.0, "recent_ips": 0.5, "recent_countries": 0.5,
                  "foreign_new_machines": 0.6},
    HAMMERING: {"requests": 1.0, "relative_volume": 1.0, "regularity": 1.0},
    OFF_HOURS: {"hour_typicality": 1.5, "new_countries": 0.6, "foreign_new_machines": 0.5,
                "recent_countries": 0.6},
    SEAT_CHURN: {"deactivations": 1.2, "churn": 1.5, "new_activations": 0.8},
    FAILED: {"failure_ratio": 1.0, "other_failure_ratio": 1.2, "failures": 1.0,
             "failure_surprise": 1.2},
    FLOATING: {"floating_refused_ratio": 1.5, "overdraft_ratio": 1.0},
}
# What each label claims: every group needs at least one supporting feature. Hammering is
# more calls than any usual window (three times a quiet key's own volume is not; machine-like
# intervals alone are not either), new activations alone no churn, refusals at the machine
# limit alone no sharing (a customer's own replaced PC is refused too), a mistyped key is no
# guessing (that needs many distinct keys).
REQUIRED: dict[str, tuple[frozenset[str], ...]] = {
    BRUTE_FORCE: (frozenset({"unknown_key_ratio"}), frozenset({"keys"})),
    KEY_SHARING: (frozenset(CATEGORIES[KEY_SHARING]) - {"limit_ratio"},),
    HAMMERING: (frozenset({"requests"}),),
    OFF_HOURS: (frozenset({"hour_typicality"}),
                frozenset({"new_countries", "foreign_new_machines", "recent_countries"})),
    SEAT_CHURN: (frozenset({"churn", "deactivations"}),),
    FAILED: (frozenset(CATEGORIES[FAILED]),),
    FLOATING: (frozenset(CATEGORIES[FLOATING]),),
}
# Claims need these *below* their usual range (a replaying client's intervals barely vary, an
# off-hours user comes at a rare hour); every other feature supports a claim when above it.
LOW = frozenset({"hour_typicality", "regularity"})
# hour_typicality is this key's share of requests in the hour relative to its own average
# hour (1x by construction), so "rarely used" is judged against that average, not against
# the range over all windows (1 % of normal windows fall in some key's rarest hours).
RARE_HOUR = 0.5
MULTIPLES = frozenset({"relative_volume", "hour_typicality", "failure_surprise"})
SKIP = frozenset({"is_ip"})

# Neutral wording: true whichever side of the usual range the value lies on.
TEMPLATES: dict[str, str] = {
    "requests": "{v} requests in {w} (usual: {usual})",
    "relative_volume": "{v}x this {s}'s usual volume per {unit} (usual: {usual})",
    "failure_ratio": "{v} of requests failed (usual: {usual})",
    "failures": "{v} failed requests in {w} (usual: {usual})",
    "unknown_key_ratio": "{v} of requests used keys that never validated (usual: {usual})",
    "limit_ratio": "{v} of requests refused: machine limit reached (usual: {usual})",
    "other_failure_ratio": "{v} of requests failed (blocked, invalid...) (usual: {usual})",
    "floating_refused_ratio": "{v} of floating activations refused, no free seat "
                              "(usual: {usual})",
    "floating_share": "{v} of requests were floating activations (usual: {usual})",
    "overdraft_ratio": "{v} of floating activations in overdraft (usual: {usual})",
    "machines": "{v} distinct machine codes in {w} (usual: {usual})",
    "ips": "{v} distinct IP addresses in {w} (usual: {usual})",
    "countries": "{v} distinct countries in {w} (usual: {usual})",
    "keys": "{v} distinct license keys in {w} (usual: {usual})",
    "new_machines": "{v} new machine codes in {w} (usual: {usual})",
    "new_countries": "{v} countries never seen for this {s} in {w} (usual: {usual})",
    "new_ips": "{v} IP addresses never seen for this {s} in {w} (usual: {usual})",
    "new_activations": "{v} new device activations in {w} (usual: {usual})",
    "deactivations": "{v} deactivations in {w} (usual: {usual})",
    "churn": "{v} activate/deactivate cycles in {w} (usual: {usual})",
    "hour_typicality": "active at {hour:02d}:00 UTC, {v}x this {s}'s average hourly share "
                       "of requests (usual: {usual})",
    "hour_sin": "active at {hour:02d}:00 UTC",
    "hour_cos": "active at {hour:02d}:00 UTC",
    "weekend": "active on a {day}",
    "regularity": "intervals between requests vary by {v} (usual: {usual})",
    "history_windows": "{v} earlier active windows of this {s} (usual: {usual})",
    "failure_surprise": "{v}x the failures this {s}'s own history predicts (usual: {usual})",
    "recent_machines": "{v} machine codes first seen in the last 24 hours (usual: {usual})",
    "foreign_new_machines": "{v} new machine codes used from a country new for this {s} "
                            "(usual: {usual})",
    "recent_countries": "{v} countries first seen for this {s} in the last 24 hours "
                        "(usual: {usual})",
    "recent_ips": "{v} IP addresses first seen for this {s} in the last 24 hours "
                  "(usual: {usual})",
}
# Wording of a feature *supporting a claim*, where it says more than the neutral one; only
# used when the value lies on the claim's side of the usual range.
CLAIMS: dict[str, str] = {
    "hour_typicality": "active at {hour:02d}:00 UTC, an hour this {s} is rarely used "
                       "({v}x its average hourly share of requests)",
    "regularity": "requests at machine-like regular intervals: they vary by {v} "
                  "(usual: {usual})",
    "keys": "{v} distinct license keys tried in {w} (usual: {usual})",
}
# With the window's rows at hand, refused floating activations are counted, not only shared.
FLOATING_REFUSED_COUNT = ("{n} floating activations refused in {w}, no free seat ({v} of "
                          "floating activations; usual: {usual})")

SINGULAR = {"requests": "request", "codes": "code", "addresses": "address",
            "countries": "country", "keys": "key", "activations": "activation",
            "deactivations": "deactivation", "cycles": "cycle", "windows": "window"}


@dataclass(frozen=True)
class Explanation:
    label: str
    reasons: list[str]


def _number(name: str, value: float) -> str:
    """A value as shown to the vendor (and as compared with its usual range)."""
    if name in RATIO_FEATURES:
        return f"{value:.0%}"
    if name == "regularity":
        return f"{value:.2f}"
    if name in MULTIPLES:
        return f"{value:.0f}" if abs(value) >= 10 else f"{value:.2g}"
    return f"{value:.0f}"


def _shown(name: str, value: float) -> float:
    return float(_number(name, value).rstrip("%")) / (100 if name in RATIO_FEATURES else 1)


def _usual_text(name: str, lo: float, hi: float) -> str:
    suffix = "x" if name in MULTIPLES else ""
    a, b = _number(name, lo), _number(name, hi)
    return f"{a}{suffix}" if a == b else f"{a}{suffix}-{b}{suffix}"


def supports(name: str, value: float, usual: tuple[float, float]) -> bool:
    """Whether `value`, as shown, lies outside the usual range on the side a claim needs."""
    if name == "hour_typicality":
        return _shown(name, value) < RARE_HOUR
    if name in LOW:
        return _shown(name, value) < _shown(name, usual[0])
    return _shown(name, value) > _shown(name, usual[1])


def _outside(name: str, value: float, usual: np.ndarray) -> bool:
    """Outside the usual range on either side, as shown ("1x (usual: 0.3x-1x)" is not)."""
    shown = _shown(name, value)
    return shown < _shown(name, usual[0]) or shown > _shown(name, usual[1])


def window_words(seconds: float) -> str:
    hours = seconds / 3600
    return "1 hour" if hours == 1 else f"{hours:g} hours"


def sentence(name: str, value: float, usual: tuple[float, float], *, kind: int, hour: int,
             window: str, claim: bool = False, refused: int | None = None) -> str:
    """One readable reason for feature `name` of a window: in the claim's words when `claim`
    (the value supports the label), else in neutral ones."""
    template = TEMPLATES[name]
    if claim:
        template = CLAIMS.get(name, template)
        if name == "floating_refused_ratio" and refused is not None:
            template = FLOATING_REFUSED_COUNT
    text = template.format(v=_number(name, value), usual=_usual_text(name, *usual),
                           w=window, hour=hour, s="IP" if kind else "key",
                           unit=window.removeprefix("1 "), n=refused,
                           day="weekend" if value >= 0.5 else "weekday")
    return _singular(text) if text.startswith("1 ") else text


def _singular(text: str) -> str:
    """"1 new machine code", not "1 new machine codes": the first plural noun after the
    leading count."""
    words = text.split(" ")
    for i, word in enumerate(words):
        if word in SINGULAR:
            words[i] = SINGULAR[word]
            break
    return " ".join(words)


def _supported(raw: np.ndarray, usual: np.ndarray) -> set[str]:
    return {name for j, name in enumerate(FEATURES)
            if name not in SKIP and supports(name, float(raw[j]), (usual[j, 0], usual[j, 1]))}


def _repeats(name: str, raw: np.ndarray, support: set[str]) -> bool:
    """"84 % of requests failed" says nothing "84 % failed (blocked, invalid...)" does not."""
    other = "other_failure_ratio"
    return (name == "failure_ratio" and other in support
            and _number(name, raw[FEATURES.index(name)]) == _number(other,
                                                                    raw[FEATURES.index(other)]))


def _label(contrib: np.ndarray, kind: int, raw: np.ndarray, support: set[str]) -> str:
    """A few raw values are unambiguous (hundreds of keys from one IP, most floating
    activations refused, repeated activate/deactivate cycles, one or two machines making
    more calls than any usual window, above the key's own volume or at machine-like
    intervals) and decide among the labels the window supports; else the supported label
    whose supporting features carry most of the reconstruction error."""
    possible = [label for label, groups in REQUIRED.items()
                if all(group & support for group in groups)
                and not (label == BRUTE_FORCE and kind == 0)]
    value = dict(zip(FEATURES, raw, strict=True))
    rules = (
        (BRUTE_FORCE, kind == 1 and value["unknown_key_ratio"] >= 0.5 and value["keys"] >= 10),
        (FLOATING, value["floating_refused_ratio"] >= 0.3),
        (SEAT_CHURN, kind == 0 and value["churn"] >= 2),
        (KEY_SHARING, kind == 0 and value["recent_machines"] >= 3 and value["countries"] >= 3),
        (HAMMERING, kind == 0 and value["machines"] <= 2 and value["failure_ratio"] < 0.5
         and "requests" in support and bool({"relative_volume", "regularity"} & support)),
        (OFF_HOURS, kind == 0 and value["foreign_new_machines"] >= 1 and value["machines"] <= 2
         and value["hour_typicality"] < RARE_HOUR),
    )
    for label, fires in rules:
        if fires and label in possible:
            return label
    if not possible:
        return UNUSUAL
    by_name = dict(zip(FEATURES, contrib, strict=True))
    scores = {label: sum(w * by_name[f] for f, w in CATEGORIES[label].items() if f in support)
              for label in possible}
    return max(scores, key=lambda k: scores[k])


def explain(raw: np.ndarray, contrib: np.ndarray, usual: np.ndarray, *, kind: int, hour: int,
            window: str, states: np.ndarray | None = None, top: int = 3) -> Explanation:
    """Label and reasons of a flagged window. `raw` and `contrib` per feature (values and
    normalised reconstruction errors), `usual` (n_features, lo/hi), `states` the Web API
    states of the window's rows (optional: counts refused floating activations).

    The reasons of a label are its supporting features: the strongest of each part of its
    claim, then the others, largest error first. Those of "Unusual activity" are the
    features outside their usual range (either side; with none, those with the largest
    errors), in neutral words."""
    support = _supported(raw, usual)
    label = _label(contrib, kind, raw, support)
    ranked = [j for j in np.argsort(-contrib, kind="stable") if FEATURES[j] not in SKIP]
    if label != UNUSUAL:
        evidence = [j for j in ranked if FEATURES[j] in support & CATEGORIES[label].keys()
                    and not _repeats(FEATURES[j], raw, support)]
        # Each part of the claim first (off-hours *and* a new country), then the rest.
        first = [next(j for j in evidence if FEATURES[j] in group) for group in REQUIRED[label]]
        chosen = list(dict.fromkeys(sorted(first, key=evidence.index) + evidence))
    else:
        outside = [j for j in ranked if _outside(FEATURES[j], raw[j], usual[j])]
        chosen = outside or ranked
    refused = None if states is None else int((states == FLOATING_REFUSED_STATE).sum())
    reasons: list[str] = []
    for j in chosen:
        text = sentence(FEATURES[j], float(raw[j]), (float(usual[j, 0]), float(usual[j, 1])),
                        kind=kind, hour=hour, window=window, claim=label != UNUSUAL,
                        refused=refused)
        if text not in reasons:
            reasons.append(text)
        if len(reasons) == top:
            break
    return Explanation(label, reasons)
