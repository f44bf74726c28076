"""Flagged windows -> incidents, so a vendor reads a handful of findings a day.

Why merge: a key shared for two days flags ~48 hourly windows; they are one finding. Windows
of one key (or IP) merge when they overlap or follow each other within `gap_seconds`
(default MERGE_GAP_SECONDS).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from .explain import UNUSUAL
from .scoring import ScoredGroup

HIGH, MEDIUM = 3.0, 1.5  # score / threshold ratios for the severity bands
# Flagged windows of one subject up to 2 h apart are one finding: seat juggling or a leaked
# key is not flagged every single hour, and a vendor wants one line for it, not five.
MERGE_GAP_SECONDS = 7200.0


@dataclass
class Incident:
    kind: str
    subject: str
    product_id: int | None
    start: float
    end: float
    score: float
    severity: str
    label: str
    reasons: list[str]
    log_ids: list[int]
    groups: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        iso = {k: dt.datetime.fromtimestamp(getattr(self, k), tz=dt.UTC).isoformat()
               for k in ("start", "end")}
        return {"kind": self.kind, "subject": self.subject, "product_id": self.product_id,
                **iso, "score": self.score, "severity": self.severity, "label": self.label,
                "reasons": self.reasons, "log_ids": self.log_ids, "groups": self.groups}


def severity(score: float, threshold: float) -> str:
    """How far above the boundary: x3 or more is high, x1.5 medium, else low."""
    ratio = score / threshold if threshold > 0 else float("inf")
    return "high" if ratio >= HIGH else "medium" if ratio >= MEDIUM else "low"


def _build(run: list[ScoredGroup]) -> Incident:
    """The most common label of the run's windows (a specific one before "Unusual
    activity"), explained by the highest-scoring window *with that label*: the reasons of
    a window labelled otherwise would argue for another finding."""
    top = max(run, key=lambda g: g.score)
    labels = Counter(g.label for g in run if g.label)
    specific = Counter({k: n for k, n in labels.items() if k != UNUSUAL}) or labels
    label = specific.most_common(1)[0][0] if specific else UNUSUAL
    explained = max((g for g in run if g.label == label), key=lambda g: g.score, default=top)
    ids = sorted({i for g in run for i in g.log_ids})
    subject = top.key if top.kind == "key" else top.ip
    return Incident(top.kind, subject or "", top.product_id,
                    min(g.start for g in run), max(g.end for g in run), top.score,
                    severity(top.score, top.threshold), label, list(explained.reasons),
                    ids, [g.group for g in run])


def merge_incidents(scored: Iterable[ScoredGroup], *,
                    gap_seconds: float = MERGE_GAP_SECONDS) -> list[Incident]:
    """Merge flagged groups of the same kind, subject and product into incidents, most
    severe (highest score) first."""
    flagged = sorted((g for g in scored if g.anomaly),
                     key=lambda g: (g.kind, g.key or "", g.ip or "", g.product_id or -1, g.start))
    incidents: list[Incident] = []
    run: list[ScoredGroup] = []
    for g in flagged:
        if run:
            last = run[-1]
            same = (g.kind, g.key, g.ip, g.product_id) == (last.kind, last.key, last.ip,
                                                          last.product_id)
            if same and g.start <= max(x.end for x in run) + gap_seconds:
                run.append(g)
                continue
            incidents.append(_build(run))
        run = [g]
    if run:
        incidents.append(_build(run))
    return sorted(_fold_ip_into_key(incidents), key=lambda i: -i.score)


def _fold_ip_into_key(incidents: list[Incident]) -> list[Incident]:
    """An IP finding whose rows all belong to one key finding is the same story seen from
    the address side (a leaked key's new machines each come from a new IP): it becomes
    part of the key incident instead of a line of its own."""
    owner: dict[int, int] = {}
    for n, inc in enumerate(incidents):
        if inc.kind == "key":
            owner.update(dict.fromkeys(inc.log_ids, n))
    kept: list[Incident] = []
    for inc in incidents:
        homes = {owner.get(i, -1) for i in inc.log_ids}
        if inc.kind == "ip" and len(homes) == 1 and -1 not in homes:
            host = incidents[homes.pop()]
            host.groups.extend(inc.groups)
            host.start, host.end = min(host.start, inc.start), max(host.end, inc.end)
            continue
        kept.append(inc)
    return kept
