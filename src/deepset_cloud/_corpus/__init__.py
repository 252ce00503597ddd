"""Corpus sync: a workspace that follows a local corpus, plus bulk delete and metadata updates.

walk (`walk`) + listing -> `plandb` (temporary SQLite) -> `plan` (hash via `hashcache`, decide) ->
`guard` -> `run` (upload through the upload pipeline, `metaupdate`, `deletion`). `meta` holds the
reserved metadata key. Submodules are imported where needed; this package imports nothing.
"""
