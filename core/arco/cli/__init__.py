"""The `arco` command line."""
