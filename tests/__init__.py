"""The test suite; `--import-mode=importlib` imports its modules as `tests.<dir>.<module>`."""
