"""Log frames (rows, CSV import format), the synthetic log generator, ECOD and the POT
threshold."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from apps.anomalies.detection import COLUMNS, LogFrame
from apps.anomalies.detection.baselines import Ecod
from apps.anomalies.detection.synthetic import ANOMALY_KINDS
from apps.anomalies.detection.threshold import pot_threshold

from .conftest import small_log

ROWS = [(2, 7, "K-1", "1.2.3.4", 1_700_000_100.0, 2010, "m1", "PC", None, "key.Activate", "SE"),
        (1, None, "K-2", "1.2.3.5", 1_700_000_000.0, 2014, "m2", "", 1_700_000_900.0,
         "key.Activate", "")]


def test_rows_come_back_sorted_by_time() -> None:
    frame = LogFrame.from_rows(ROWS)
    assert list(frame.rows()) == [ROWS[1], ROWS[0]]


def test_csv_round_trip_in_the_import_format(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    LogFrame.from_rows(ROWS).to_csv(path)
    with open(path, newline="") as fh:
        header = next(csv.reader(fh))
    assert header == list(COLUMNS)
    assert list(LogFrame.from_csv(path).rows()) == [ROWS[1], ROWS[0]]


def test_concat_keeps_every_string_when_a_vocabulary_holds_one_twice() -> None:
    """The generator's vocabularies can hold a key twice; the merged frame's codes still
    decode to each row's own strings (they pointed past the merged vocabulary before)."""
    first = LogFrame.from_rows(ROWS[:1])
    first.vocabs["key"] = np.array(["K-1", "K-1", "K-3"], dtype=object)
    first.codes["key"] = np.array([2], dtype=np.int32)  # "K-3"
    other = LogFrame.from_rows([(3, 7, "K-1", "1.2.3.6", 1_700_000_200.0, 2010, "m3", "PC",
                                 None, "key.Activate", "SE")])

    merged = first.concat(other)

    assert merged.strings("key").tolist() == ["K-3", "K-1"]
    assert merged.strings("ip").tolist() == ["1.2.3.4", "1.2.3.6"]


def test_generator_is_seeded_and_labels_point_at_their_rows(tmp_path: Path) -> None:
    a = small_log(instances_per_kind=1, anomaly_from_day=0)
    b = small_log(instances_per_kind=1, anomaly_from_day=0)
    assert np.array_equal(a.frame.time, b.frame.time)
    assert np.all(np.diff(a.frame.ids) > 0) and a.frame.ids[0] == 1
    assert np.all(np.diff(a.frame.time) >= 0)
    assert sorted(lab.kind for lab in a.labels) == sorted(ANOMALY_KINDS)
    ids = set(a.frame.ids.tolist())
    for lab in a.labels:
        assert lab.row_ids and set(lab.row_ids) <= ids
        assert (lab.key is None) != (lab.ip is None)
    a.write(tmp_path / "log.csv", tmp_path / "labels.json")
    assert len(json.loads((tmp_path / "labels.json").read_text())) == len(a.labels)
    assert len(LogFrame.from_csv(tmp_path / "log.csv")) == len(a.frame)


def test_generator_makes_normal_traffic_with_benign_oddities() -> None:
    frame = small_log().frame
    states = set(frame.state.tolist())
    assert {1010, 2010, 2011, 2014, 2020, 2021, 6010, 6011} <= states
    assert len(set(frame.strings("country"))) > 3


def test_ecod_ranks_an_outlier_first() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 4))
    scores = Ecod.fit(x).score(np.vstack([x[:5], [[8, 0, 0, 0]], [[-6, 6, 0, 0]]]))
    assert scores[5] > scores[:5].max() and scores[6] > scores[:5].max()


def test_pot_threshold_extrapolates_an_exponential_tail() -> None:
    scores = np.random.default_rng(1).exponential(size=50_000)
    value, method = pot_threshold(scores, 1 - 1e-4)
    assert abs(value - np.log(1e4)) < 1.0  # true quantile 9.21
    assert method.startswith("POT fit")
    _, method = pot_threshold(scores[:100], 0.95)
    assert "empirical" in method
