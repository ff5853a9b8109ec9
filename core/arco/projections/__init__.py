"""Projections: Parquet table files, immutable manifests, and the pointer that publishes them."""
