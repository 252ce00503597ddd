"""The async API: `from deepset_cloud.async_client import files`, then `await files.upload(...)`."""

from __future__ import annotations

from deepset_cloud.async_client import files as files

__all__ = ["files"]
