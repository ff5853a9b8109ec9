"""Services: the I/O shell around the pure core (compaction, rebuild, doctor, state)."""
