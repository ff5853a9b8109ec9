"""The ledger: append-only batches of events, one create-if-absent object per append."""
