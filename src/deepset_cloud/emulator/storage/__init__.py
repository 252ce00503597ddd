"""The emulator's persistence: `store` (SQLite records, the only module that runs SQL) and `blobs` (the
folder of large contents)."""
