"""The HTTP API (a Flask app, served by functions-framework in production)."""
