"""Engines: what the functions run (timer, worker, sensor_push, sensor_poll) and their dispatch."""
