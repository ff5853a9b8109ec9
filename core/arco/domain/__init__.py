"""The pure core: events, tables, the fold. No I/O, no clock, no cloud SDK, no pyarrow."""
