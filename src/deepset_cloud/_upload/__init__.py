"""The upload pipeline: discovery, options, the direct path, upload sessions, ingestion wait."""
