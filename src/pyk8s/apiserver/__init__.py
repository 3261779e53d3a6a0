"""The API server: the cluster's only door to its store (see app.py)."""
