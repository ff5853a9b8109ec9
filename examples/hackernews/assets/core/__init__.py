"""Items fetched from the API each hour, split into comments and stories."""
