"""The official `deepset-cloud-sdk`, unchanged, against the local emulator (marker `compat`)."""

from __future__ import annotations
