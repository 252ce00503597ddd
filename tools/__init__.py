"""Development tools: the sync facade generator (`python -m tools.gen_sync`)."""
