"""Commands: writes, each taking a request and appending events (nothing written on bad input)."""
