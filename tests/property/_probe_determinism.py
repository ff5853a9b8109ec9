"""Run in subprocesses by test_hypothesis_profiles.py (not collected otherwise: its name does
not start with `test_`): one property that writes a digest of every example it is given to the
file named by ARCO_EXAMPLES_LOG, so two runs can be compared example by example."""

from __future__ import annotations

import hashlib
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.property.ledgers import deliveries, ledgers


@settings(max_examples=30)
@given(st.data())
def test_log_every_example(data: st.DataObject) -> None:
    ledger = data.draw(ledgers(["runs", "settings"]))
    delivery = data.draw(deliveries(ledger))
    digest = hashlib.sha256()
    for written in ledger.objects:
        digest.update(written.name.encode() + written.obj.data)
    for batch in delivery.calls:
        digest.update(b"|" + b",".join(o.name.encode() for o in batch))
    with open(os.environ["ARCO_EXAMPLES_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{len(ledger.objects)} {digest.hexdigest()}\n")
