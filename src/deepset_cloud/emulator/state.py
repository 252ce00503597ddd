"""`EmulatorState`: everything the handlers share (config, store, faults, stats, ingestion)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections import Counter
from typing import Any

from aiohttp import web

from deepset_cloud.emulator.clock import Clock, SystemClock
from deepset_cloud.emulator.config import EmulatorConfig
from deepset_cloud.emulator.faults import FaultInjector
from deepset_cloud.emulator.http.errors import raise_api_error
from deepset_cloud.emulator.ingest import Ingestor
from deepset_cloud.emulator.storage.store import Store

__all__ = ["STATE", "EmulatorState", "Stats", "bearer_token", "token_matches"]

DOCUMENTATION_URL = "https://docs.cloud.deepset.ai/docs/upload-files"
S3_PREFIX = "/_s3/user-files-upload/"


class Stats:
    """Counters for the admin API: requests per route and what the S3 endpoint saw."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.s3_objects_received = 0
        self.s3_requests_with_authorization = 0
        self.faults_injected = 0

    def as_dict(self, store: Store, faults: FaultInjector) -> dict[str, Any]:
        """A JSON-ready snapshot, including what the store holds and what the faults did."""
        return {
            "faults": faults.snapshot(),
            "requests": dict(self.requests),
            "s3_objects_received": self.s3_objects_received,
            "s3_requests_with_authorization": self.s3_requests_with_authorization,
            "faults_injected": self.faults_injected,
            "objects_stored": store.count_objects(),
            "files_stored": store.count_files(),
            "workspaces": len(store.workspaces),
            "sessions": len(store.sessions),
        }


class EmulatorState:
    """Shared state of one running emulator; lives on the event loop thread."""

    def __init__(self, config: EmulatorConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.s3_secret = _load_secret(config)
        self.faults = FaultInjector(config.seed, config.faults)
        self.stats = Stats()
        self.store = Store(config.data_dir, self.clock)  # last but one: nothing after it can fail
        self.ingestor = Ingestor(self.store)

    def workspace(self, name: str) -> str:
        """Return `name` if the workspace exists, creating it on first use when allowed; else 404."""
        if name in self.store.workspaces:
            return name
        if not name or not self.config.auto_create_workspaces:
            raise_api_error(404, f"Workspace {name!r} not found.")
        self.store.create_workspace(name)
        return name

    def authorized_api_key(self, request: web.Request) -> str | None:
        """The request's Bearer key if it is one of the configured keys, else None."""
        key = bearer_token(request)
        if not key:
            return None
        given = _as_bytes(key)
        return key if any(secrets.compare_digest(given, _as_bytes(k)) for k in self.config.api_keys) else None


def bearer_token(request: web.Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def token_matches(request: web.Request, expected: str) -> bool:
    """Whether the request carries `Authorization: Bearer <expected>` (constant-time comparison)."""
    token = bearer_token(request)
    return bool(token) and secrets.compare_digest(_as_bytes(token or ""), _as_bytes(expected))


def _as_bytes(text: str) -> bytes:
    # compare_digest refuses non-ASCII str (a TypeError, once a 500); undecodable header bytes arrive
    # as lone surrogates, which "surrogatepass" encodes too (equal bytes iff equal strings).
    return text.encode("utf-8", "surrogatepass")


def user_id_for_key(api_key: str) -> str:
    """A stable user id per API key, derived by hashing (the key itself never leaves the process)."""
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"deepset-cloud-emulator:{digest}"))


def _load_secret(config: EmulatorConfig) -> bytes:
    """The HMAC secret for presigned POSTs, kept in data_dir so sessions survive a restart."""
    path = config.data_dir / "s3-secret"
    if path.exists():
        return path.read_bytes()
    secret = secrets.token_bytes(32)
    path.write_bytes(secret)
    path.chmod(0o600)
    return secret


STATE = web.AppKey("deepset_cloud_emulator_state", EmulatorState)
