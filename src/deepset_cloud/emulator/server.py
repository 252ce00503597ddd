"""`Emulator`: runs the app on a TCP port, on the current loop or in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web
from anyio.from_thread import BlockingPortal, start_blocking_portal

from deepset_cloud.emulator.clock import Clock, SystemClock
from deepset_cloud.emulator.config import EmulatorConfig, evolve_config
from deepset_cloud.emulator.http.admin import config_as_dict, fault_specs_from_json, reset_state
from deepset_cloud.emulator.http.app import make_app, serve_storage_posts_directly
from deepset_cloud.emulator.s3.fast_path import FastPathProtocol
from deepset_cloud.emulator.state import S3_PREFIX, EmulatorState

__all__ = ["Emulator", "ThreadedEmulator"]

_T = TypeVar("_T")
_SWEEP_INTERVAL_S = 60.0


class Emulator:
    """A local deepset Cloud API on `host:port` (port 0 picks a free one).

    Use `async with Emulator(config) as emu:` on a running loop, or `Emulator.start_in_thread(config)`
    for sync code. The admin helpers (`set_faults`, `stats`, ...) must be called on the emulator's loop.
    """

    def __init__(
        self, config: EmulatorConfig, *, host: str = "127.0.0.1", port: int = 0, clock: Clock | None = None
    ) -> None:
        self._config = config
        self.clock: Clock = clock or SystemClock()
        self.host = host
        self.port = port
        self._state: EmulatorState | None = None
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._connections: set[FastPathProtocol] = set()
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def config(self) -> EmulatorConfig:
        """The current configuration, including runtime changes (`configure`, `PATCH /_emulator/config`)."""
        return self._config if self._state is None else self._state.config

    @property
    def state(self) -> EmulatorState:
        """The running emulator's shared state."""
        if self._state is None:
            raise RuntimeError("the emulator is not running")
        return self._state

    @property
    def base_url(self) -> str:
        """`http://HOST:PORT` of the running emulator."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The API URL clients use: `http://HOST:PORT/api/v1`."""
        return f"{self.base_url}/api/v1"

    @property
    def s3_url(self) -> str:
        """The URL of the emulated S3 bucket endpoint."""
        return f"{self.base_url}{S3_PREFIX}"

    async def start(self) -> None:
        """Open the data dir, resume pending ingestion and start listening."""
        state = EmulatorState(self._config, self.clock)
        runner = web.AppRunner(make_app(state), access_log=None, handle_signals=False, shutdown_timeout=2.0)
        loop = asyncio.get_running_loop()
        connections = self._connections
        try:
            await runner.setup()
            server = runner.server
            assert server is not None  # set up
            serve_storage_posts_directly(server, state)
            # Connections start on the fast path, which hands anything but a plain storage post to aiohttp.
            listener = await loop.create_server(
                lambda: FastPathProtocol(state, server, connections), self.host, self.port, backlog=1024
            )
        except BaseException:
            await runner.cleanup()
            state.store.close()
            raise
        self.port = int(listener.sockets[0].getsockname()[1])
        self._state, self._runner, self._listener = state, runner, listener
        state.ingestor.resume(state.config.ingest_delay_s)
        self._sweeper = loop.create_task(self._sweep_expired(state))

    @staticmethod
    async def _sweep_expired(state: EmulatorState) -> None:
        """Free the disk space of expired, never-closed sessions now and then."""
        while True:
            state.store.sweep_expired_objects(state.clock.now_us())
            await asyncio.sleep(_SWEEP_INTERVAL_S)

    async def stop(self) -> None:
        """Stop listening, stop ingestion (it resumes on the next start) and commit everything."""
        state, runner = self._state, self._runner
        self._state = self._runner = None
        if state is not None:
            self._config = state.config  # runtime changes carry over to a restart
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()  # no new connections
        for connection in list(self._connections):
            connection.close()
        if runner is not None:
            await runner.cleanup()  # closes the connections handed to aiohttp
        if state is not None:
            await state.ingestor.aclose()
            state.store.close()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- admin helpers (call on the emulator's loop) -------------------------------------------------
    def set_faults(self, specs: Sequence[Any]) -> None:
        """Replace the active faults (FaultSpec objects, dicts of FaultSpec fields or CLI strings)."""
        self.state.faults.set(fault_specs_from_json(list(specs)))

    def clear_faults(self) -> None:
        """Remove every active fault."""
        self.state.faults.clear()

    def stats(self) -> dict[str, Any]:
        """Counters: requests per route, S3 objects, Authorization headers seen by S3, stored items."""
        return self.state.stats.as_dict(self.state.store, self.state.faults)

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change runtime knobs (ingest_delay_s, session_ttl_s, max_open_sessions, ...)."""
        self.state.config = evolve_config(self.state.config, changes)
        return config_as_dict(self.state.config)

    def reset(self) -> None:
        """Forget all workspaces, files, sessions, faults and counters."""
        reset_state(self.state)

    async def wait_ingestion_idle(self) -> None:
        """Wait until no ingestion is scheduled or running."""
        await self.state.ingestor.wait_idle()

    @classmethod
    def start_in_thread(
        cls, config: EmulatorConfig, *, host: str = "127.0.0.1", port: int = 0, clock: Clock | None = None
    ) -> ThreadedEmulator:
        """Start an emulator on its own event loop in a background thread; returns once it is listening."""
        return ThreadedEmulator(cls(config, host=host, port=port, clock=clock))


class ThreadedEmulator:
    """An `Emulator` on an anyio blocking portal (its own loop thread); every method is thread-safe."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self._exit = contextlib.ExitStack()
        self._portal: BlockingPortal = self._exit.enter_context(start_blocking_portal("asyncio"))
        try:
            self._portal.call(emulator.start)
        except BaseException:
            self._exit.close()
            raise
        self._running = True

    @property
    def config(self) -> EmulatorConfig:
        """The current configuration (including runtime changes)."""
        return self.emulator.config

    @property
    def clock(self) -> Clock:
        """The emulator's clock (a `ManualClock` if one was given)."""
        return self.emulator.clock

    @property
    def api_url(self) -> str:
        """`http://HOST:PORT/api/v1`."""
        return self.emulator.api_url

    @property
    def base_url(self) -> str:
        """`http://HOST:PORT`."""
        return self.emulator.base_url

    @property
    def s3_url(self) -> str:
        """The emulated S3 endpoint URL."""
        return self.emulator.s3_url

    @property
    def api_key(self) -> str:
        """The first configured API key."""
        return self.config.api_keys[0]

    @property
    def admin_token(self) -> str:
        """The admin API token."""
        return self.config.admin_token

    @property
    def data_dir(self) -> Path:
        """The data folder (SQLite + blobs)."""
        return self.config.data_dir

    @property
    def running(self) -> bool:
        """Whether the emulator is serving (started and not stopped)."""
        return self._running

    def _run(self, coro_fn: Callable[[], Awaitable[_T]], timeout: float) -> _T:
        return self._portal.start_task_soon(coro_fn).result(timeout)

    def call(self, fn: Callable[[], _T], timeout: float = 30.0) -> _T:
        """Run `fn()` on the emulator's loop and return its result."""

        async def runner() -> _T:
            return fn()

        return self._run(runner, timeout)

    def set_faults(self, specs: Sequence[Any]) -> None:
        """Replace the active faults (FaultSpec objects, dicts of FaultSpec fields or CLI strings)."""
        self.call(lambda: self.emulator.set_faults(specs))

    def clear_faults(self) -> None:
        """Remove every active fault."""
        self.call(self.emulator.clear_faults)

    def stats(self) -> dict[str, Any]:
        """See `Emulator.stats`."""
        return self.call(self.emulator.stats)

    def configure(self, **changes: Any) -> dict[str, Any]:
        """See `Emulator.configure`."""
        return self.call(lambda: self.emulator.configure(**changes))

    def reset(self) -> None:
        """See `Emulator.reset`."""
        self.call(self.emulator.reset)

    def wait_ingestion_idle(self, timeout: float = 30.0) -> None:
        """Block until no ingestion is scheduled or running."""
        self._run(self.emulator.wait_ingestion_idle, timeout)

    def stop(self) -> None:
        """Stop the server, commit its state and end its loop thread (idempotent)."""
        if not self._running:
            return
        self._running = False
        try:
            self._portal.call(self.emulator.stop)
        finally:
            self._exit.close()  # the portal's loop ends; leftover handler tasks are cancelled

    def __enter__(self) -> ThreadedEmulator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<ThreadedEmulator {self.api_url} data_dir={str(self.config.data_dir)!r}>"
