"""Window features on tiny hand-made logs, checked against numbers worked out by hand."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from pytest import approx

from apps.anomalies.detection import LogFrame
from apps.anomalies.detection.features import FEATURES, RATIO_PRIOR, featurise
from apps.anomalies.detection.history import Profile, build_profile

T0 = dt.datetime(2026, 1, 3, 10, 0, tzinfo=dt.UTC).timestamp()  # a Saturday, 10:00 UTC
KEY = "AAAAA-BBBBB-CCCCC-DDDDD"
IP = "81.2.69.160"


def row(i: int, t: float, state: int, machine: str = "m1", *, key: str = KEY, ip: str = IP,
        country: str = "SE", method: str = "key.Activate", product: int | None = 7) -> tuple:
    return (i, product, key, ip, T0 + t, state, machine, "PC", None, method, country)


def windows_by_id(frame: LogFrame, profile: Profile | None = None) -> dict:
    w = featurise(frame, window_seconds=3600, profile=profile or Profile()).windows
    return {g: {name: float(w.raw[i, j]) for j, name in enumerate(FEATURES)} | {"_i": i,
            "_w": w} for i, g in enumerate(w.group_ids())}


def key_group(hour: int = 0) -> str:
    return f"key:7:{KEY}:{int(T0) + 3600 * hour}"


def test_counts_ratios_and_distinct_machines() -> None:
    frame = LogFrame.from_rows([
        row(1, 10, 2010, "m1"), row(2, 20, 2010, "m1"), row(3, 30, 2011, "m2"),
        row(4, 40, 2021, "m3", country="NO"), row(5, 50, 1020, "m1", method="key.GetKey"),
    ])
    f = windows_by_id(frame)[key_group()]
    assert f["requests"] == 5
    assert f["failure_ratio"] == approx(2 / (5 + RATIO_PRIOR))
    assert f["limit_ratio"] == approx(1 / (5 + RATIO_PRIOR))
    assert f["other_failure_ratio"] == approx(1 / (5 + RATIO_PRIOR))
    assert f["machines"] == 3
    assert f["countries"] == 2
    assert f["ips"] == 1
    assert f["new_machines"] == 3  # no history: all first seen here
    assert f["new_activations"] == 1


def test_new_machines_are_relative_to_the_keys_history() -> None:
    earlier = LogFrame.from_rows([row(1, -86400 * 3, 2010, "m1"), row(2, -86400 * 3 + 5, 2010,
                                                                       "m2")])
    w = featurise(earlier, window_seconds=3600, profile=Profile()).windows
    feat = featurise(earlier, window_seconds=3600, profile=Profile())
    profile = build_profile(entity_hash=w.entity_hash, n=w.raw[:, 0].astype(float),
                            fails=np.zeros(len(w)), hod=w.hod, kind=w.kind, pairs=feat.pairs,
                            known_keys=feat.known_keys, until=T0 - 86400)
    now = LogFrame.from_rows([row(3, 10, 2010, "m1"), row(4, 20, 2011, "m9", country="BR"),
                              row(5, 3700, 2010, "m9", country="BR")])
    groups = windows_by_id(now, profile)
    first, second = groups[key_group(0)], groups[key_group(1)]
    assert (first["new_machines"], first["new_countries"]) == (1, 1)
    # An hour later m9 is no longer new, but it is still recent (first seen < 24 h ago).
    assert (second["new_machines"], second["recent_machines"]) == (0, 1)
    assert second["recent_countries"] == 1


def test_churn_counts_activate_deactivate_cycles() -> None:
    frame = LogFrame.from_rows([
        row(1, 10, 2011, "m1"), row(2, 100, 6010, "m1", method="key.Deactivate"),
        row(3, 200, 2011, "m2"), row(4, 300, 6010, "m2", method="key.Deactivate"),
        row(5, 400, 2011, "m3"),
    ])
    f = windows_by_id(frame)[key_group()]
    assert (f["new_activations"], f["deactivations"], f["churn"]) == (3, 2, 2)


def test_hour_and_weekday() -> None:
    f = windows_by_id(LogFrame.from_rows([row(1, 10, 2010)]))[key_group()]
    assert math.isclose(f["hour_sin"], math.sin(2 * math.pi * 10 / 24), abs_tol=1e-6)
    assert math.isclose(f["hour_cos"], math.cos(2 * math.pi * 10 / 24), abs_tol=1e-6)
    assert f["weekend"] == 1.0
    monday = windows_by_id(LogFrame.from_rows([row(1, 2 * 86400 + 10, 2010)]))
    assert monday[key_group(48)]["weekend"] == 0.0


def test_floating_seat_pressure() -> None:
    frame = LogFrame.from_rows([row(i, 10 * i, s, f"m{i}") for i, s in
                                enumerate([2014, 2014, 2024, 2024, 2024, 6011], start=1)])
    f = windows_by_id(frame)[key_group()]
    assert f["floating_refused_ratio"] == approx(3 / (5 + RATIO_PRIOR))
    assert f["floating_share"] == approx(6 / (6 + RATIO_PRIOR))


def test_guessed_keys_only_show_on_the_ip_window() -> None:
    guesses = [row(i, i, 2020, "x", key=f"GUESS-{i:05d}", ip="5.5.5.5") for i in range(1, 9)]
    frame = LogFrame.from_rows([*guesses, row(20, 30, 2010, ip="5.5.5.5")])
    groups = windows_by_id(frame)
    assert not any(g.startswith("key:7:GUESS") for g in groups)
    f = groups[f"ip:5.5.5.5:{int(T0)}"]
    assert (f["requests"], f["keys"]) == (9, 9)
    assert f["unknown_key_ratio"] == approx(8 / (9 + RATIO_PRIOR))


def test_every_row_of_a_window_is_kept() -> None:
    frame = LogFrame.from_rows([row(1, 10, 2010), row(2, 20, 2010), row(3, 4000, 2010)])
    groups = windows_by_id(frame)
    g = groups[key_group()]
    rows = g["_w"].rows_of(g["_i"])
    assert sorted(frame.ids[rows].tolist()) == [1, 2]


def test_hour_typicality_drops_for_an_unusual_hour() -> None:
    usual = [row(i, -86400 * d + 60 * i, 2010) for d in range(1, 8) for i in range(1, 4)]
    renumbered = [(100 + n, *r[1:]) for n, r in enumerate(usual)]
    frame = LogFrame.from_rows([*renumbered, row(998, 60, 2010), row(999, 12 * 3600, 2010)])
    groups = windows_by_id(frame)
    assert groups[key_group(12)]["hour_typicality"] < 0.5 < groups[key_group(0)][
        "hour_typicality"]
