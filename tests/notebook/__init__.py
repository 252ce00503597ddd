"""The sync facade in a real Jupyter kernel (`nox -s notebook`)."""
