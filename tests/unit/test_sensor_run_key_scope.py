"""run_key claims are scoped to the sensor (Dagster feature table #62): another sensor may use
the same key and gets its run; the same sensor never again."""

from __future__ import annotations

from tests.unit.test_sensors_fold import Projection, Writer, keys, req, rids


def test_another_sensor_may_use_a_key_this_sensor_claimed() -> None:
    w, p = Writer(), Projection()
    first = w.push("m1", req("k1"), sensor="new_files")
    p.deliver(first)
    other = w.push("m1", req("k1"), sensor="orders_landed")
    p.deliver(other)
    assert p.tick(other, sensor="orders_landed")["status"] == "SUCCESS"
    assert keys(p.tick(other, sensor="orders_landed")) == ["k1"]
    assert len(rids(p.tick(other, sensor="orders_landed"))) == 1
    again = w.push("m2", req("k1"), sensor="new_files")
    p.deliver(again)
    assert p.tick(again)["status"] == "SKIPPED" and rids(p.tick(again)) == []
    assert [r["run_key"] for r in p.requests()] == ["k1", "k1"]
    assert p.claims() == {
        ("new_files", "k1"): first.event_id,
        ("orders_landed", "k1"): other.event_id,
    }
