"""Fault injection: spec parsing and validation, seeded decisions, and real loopback HTTP behaviour."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web

from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.emulator.faults import ROUTES, FaultInjector, FaultSpec, parse_fault_option

from .emulator_api import Api

# --------------------------------------------------------------------------------------------------
# Specs


def test_cli_form_parses_every_option() -> None:
    assert parse_fault_option("route=s3_post,rate=0.1,status=503,retry_after=1") == FaultSpec(
        route="s3_post", rate=0.1, status=503, retry_after=1.0
    )
    assert parse_fault_option(" route = list_files , drop = true , count = 3 ") == FaultSpec(
        route="list_files", drop=True, count=3
    )
    assert parse_fault_option("route=*,latency_s=0.05,") == FaultSpec(route="*", latency_s=0.05)
    assert parse_fault_option("route=download,drop") == FaultSpec(route="download", drop=True)
    assert parse_fault_option("route=download,drop=no,latency_s=1").drop is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rate=0.5,status=503", "needs a route"),
        ("route=uploads,status=503", "route must be one of create_session"),
        ("route=s3_post,staus=503", "unknown fault option 'staus'"),
        ("route=s3_post,status=abc", "status='abc' must be an integer"),
        ("route=s3_post,status=503,rate=lots", "rate='lots' must be a number"),
        ("route=s3_post,drop=maybe", "drop='maybe' must be true or false"),
        ("route=s3_post,status=503,status=500", "'status' is given twice"),
        ("route=s3_post,status", "must look like name=value"),
        ("route=s3_post,status=", "must look like name=value"),
        ("route=s3_post,status=503,rate=1.5", "rate must be a finite number from 0 to 1"),
        ("route=s3_post,status=503,rate=nan", "rate must be a finite number"),
        ("route=s3_post,latency_s=inf", "latency_s must be a finite number >= 0"),
        ("route=s3_post,latency_s=-1", "latency_s must be a finite number >= 0"),
        ("route=s3_post,status=200", "status must be an integer from 400 to 599"),
        ("route=s3_post,status=503,count=0", "count must be a positive integer"),
        ("route=s3_post,status=503,drop=true", "either drops the connection or answers with a status"),
        ("route=s3_post,retry_after=1,latency_s=1", "retry_after needs a status"),
        ("route=s3_post,status=503,retry_after=-1", "retry_after must be a finite number >= 0"),
        ("route=s3_post", "a fault needs an effect"),
        ("route=s3_post,rate=0.5", "a fault needs an effect"),
    ],
)
def test_cli_form_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_fault_option(text)


def test_dict_form_round_trips_and_is_strict() -> None:
    spec = FaultSpec(route="s3_post", rate=0.25, status=503, retry_after=0.5, count=7)
    as_json = json.loads(json.dumps(spec.to_dict()))
    assert as_json == {
        "route": "s3_post",
        "rate": 0.25,
        "status": 503,
        "retry_after": 0.5,
        "drop": False,
        "latency_s": 0.0,
        "count": 7,
        "lose_response": False,
    }
    assert FaultSpec.from_dict(as_json) == spec
    assert FaultSpec.from_dict({"route": "*", "rate": 1, "latency_s": 2}) == FaultSpec(
        route="*", rate=1.0, latency_s=2.0
    )
    with pytest.raises(ValueError, match="unknown fault field"):
        FaultSpec.from_dict({"route": "*", "status": 500, "sttaus": 1})
    with pytest.raises(ValueError, match="needs a route"):
        FaultSpec.from_dict({"status": 500})


@pytest.mark.parametrize(
    "fields",
    [
        {"rate": True, "status": 500},
        {"rate": "0.5", "status": 500},
        {"status": 503.0},
        {"status": True},
        {"drop": 1},
        {"count": 2.0, "status": 500},
        {"latency_s": None},
    ],
)
def test_wrong_json_types_are_value_errors(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        FaultSpec.from_dict({"route": "s3_post", **fields})


def test_integers_become_floats_for_float_fields() -> None:
    spec = FaultSpec(route="download", rate=1, latency_s=3)
    assert isinstance(spec.rate, float)
    assert isinstance(spec.latency_s, float)


def test_specs_are_immutable() -> None:
    spec = FaultSpec(route="download", status=500)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        spec.status = 503  # type: ignore[misc]


# --------------------------------------------------------------------------------------------------
# Decisions


def decisions(injector: FaultInjector, route: str, n: int) -> list[int | None]:
    """The status (or -1 for a drop, None to proceed) for n requests."""
    result: list[int | None] = []
    for _ in range(n):
        spec = injector.decide(route).spec
        result.append(None if spec is None else (-1 if spec.drop else spec.status))
    return result


SPECS = [
    FaultSpec(route="s3_post", rate=0.3, status=503),
    FaultSpec(route="*", rate=0.1, drop=True),
]


def test_same_seed_same_decisions() -> None:
    first = decisions(FaultInjector(seed=42, specs=SPECS), "s3_post", 500)
    second = decisions(FaultInjector(seed=42, specs=SPECS), "s3_post", 500)
    other = decisions(FaultInjector(seed=43, specs=SPECS), "s3_post", 500)
    assert first == second
    assert first != other
    assert {503, -1, None} == set(first)


def test_set_restarts_the_sequence_and_counters() -> None:
    injector = FaultInjector(seed=7, specs=SPECS)
    first = decisions(injector, "s3_post", 100)
    injector.set(SPECS)
    assert injector.snapshot()["injected_total"] == 0
    assert decisions(injector, "s3_post", 100) == first


def test_rate_statistics() -> None:
    injector = FaultInjector(seed=1, specs=[FaultSpec(route="list_files", rate=0.3, status=500)])
    outcomes = decisions(injector, "list_files", 4000)
    injected = outcomes.count(500)
    assert 1000 < injected < 1400  # mean 1200, sd 29: a 7-sigma band
    assert injector.snapshot()["specs"][0]["injected"] == injected
    assert injector.snapshot()["specs"][0]["matched"] == 4000


def test_rate_zero_and_one() -> None:
    never = FaultInjector(specs=[FaultSpec(route="download", rate=0.0, status=500)])
    always = FaultInjector(specs=[FaultSpec(route="download", rate=1.0, status=500)])
    assert decisions(never, "download", 200) == [None] * 200
    assert decisions(always, "download", 200) == [500] * 200


def test_count_limits_injections() -> None:
    injector = FaultInjector(specs=[FaultSpec(route="close_session", status=502, count=3)])
    assert decisions(injector, "close_session", 6) == [502, 502, 502, None, None, None]
    (stats,) = injector.snapshot()["specs"]
    assert (stats["injected"], stats["remaining"], stats["matched"]) == (3, 0, 3)


def test_routes_are_matched_exactly_or_by_star() -> None:
    injector = FaultInjector(
        specs=[FaultSpec(route="list_files", status=500), FaultSpec(route="*", status=503)]
    )
    assert decisions(injector, "list_files", 1) == [500]
    for route in ROUTES:
        if route != "list_files":
            assert decisions(injector, route, 1) == [503]


def test_first_deciding_spec_wins_and_latencies_add_up() -> None:
    injector = FaultInjector(
        specs=[
            FaultSpec(route="*", latency_s=0.5),
            FaultSpec(route="s3_post", latency_s=0.25, status=500),
            FaultSpec(route="s3_post", status=503),
        ]
    )
    decision = injector.decide("s3_post")
    assert decision.latency_s == 0.75
    assert decision.spec == FaultSpec(route="s3_post", latency_s=0.25, status=500)
    latency_only = injector.decide("download")
    assert (latency_only.latency_s, latency_only.proceeds) == (0.5, True)
    counts = [spec["injected"] for spec in injector.snapshot()["specs"]]
    assert counts == [2, 1, 0]


def test_clear_removes_everything() -> None:
    injector = FaultInjector(specs=SPECS)
    had_specs = injector.has_specs
    injector.clear()
    assert injector.specs == ()
    assert (had_specs, injector.has_specs) == (True, False)
    assert decisions(injector, "s3_post", 50) == [None] * 50


def test_set_rejects_non_specs() -> None:
    with pytest.raises(TypeError, match="expected FaultSpec"):
        FaultInjector().set([{"route": "*", "status": 500}])  # type: ignore[list-item]


def test_snapshot_is_json_serialisable() -> None:
    injector = FaultInjector(seed=3, specs=SPECS)
    decisions(injector, "s3_post", 10)
    snapshot = json.loads(json.dumps(injector.snapshot()))
    assert snapshot["seed"] == 3
    assert [spec["route"] for spec in snapshot["specs"]] == ["s3_post", "*"]
    assert snapshot["injected_total"] == sum(spec["injected"] for spec in snapshot["specs"])


# --------------------------------------------------------------------------------------------------
# Loopback HTTP


@attrs.define
class FaultyServer:
    injector: FaultInjector
    url: str
    runner: web.AppRunner
    handled: list[str] = attrs.Factory(list)
    inject_durations: list[float] = attrs.Factory(list)


@pytest.fixture
async def server() -> AsyncIterator[FaultyServer]:
    injector = FaultInjector(seed=0)
    holder: list[FaultyServer] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        route = request.match_info["route"]
        loop = asyncio.get_running_loop()
        started = loop.time()
        injected = await injector.maybe_inject(route, request)
        holder[0].inject_durations.append(loop.time() - started)
        if injected is not None:
            return injected
        await request.read()
        holder[0].handled.append(route)
        return web.json_response({"ok": route})

    app = web.Application()
    app.router.add_route("*", "/{route}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    holder.append(FaultyServer(injector, f"http://127.0.0.1:{port}", runner))
    yield holder[0]
    await runner.cleanup()


@pytest.mark.anyio
async def test_no_faults_proceeds(server: FaultyServer) -> None:
    async with aiohttp.ClientSession() as client, client.get(f"{server.url}/list_files") as response:
        assert response.status == 200
        assert await response.json() == {"ok": "list_files"}
    assert server.handled == ["list_files"]


@pytest.mark.anyio
async def test_api_route_gets_json_error_with_retry_after(server: FaultyServer) -> None:
    server.injector.set([FaultSpec(route="list_files", status=429, retry_after=2, count=1)])
    async with aiohttp.ClientSession() as client:
        async with client.get(f"{server.url}/list_files") as response:
            assert response.status == 429
            assert response.headers["Retry-After"] == "2"
            assert response.content_type == "application/json"
            body = await response.json()
            assert body["errors"][0].startswith("Too Many Requests")
        async with client.get(f"{server.url}/list_files") as response:
            assert response.status == 200  # count=1 used up
    assert server.handled == ["list_files"]


@pytest.mark.anyio
async def test_fractional_retry_after_is_kept(server: FaultyServer) -> None:
    server.injector.set([FaultSpec(route="create_session", status=503, retry_after=0.25)])
    async with aiohttp.ClientSession() as client, client.post(f"{server.url}/create_session") as response:
        assert response.status == 503
        assert response.headers["Retry-After"] == "0.25"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "code"),
    [(503, "SlowDown"), (500, "InternalError"), (400, "RequestTimeout"), (502, "InternalError")],
)
async def test_s3_route_gets_s3_xml_error(server: FaultyServer, status: int, code: str) -> None:
    server.injector.set([FaultSpec(route="s3_post", status=status, retry_after=1)])
    form = aiohttp.FormData()
    form.add_field("key", "ws/session/${filename}")
    form.add_field("file", b"x" * 100_000, filename="a.txt", content_type="text/plain")
    async with aiohttp.ClientSession() as client, client.post(f"{server.url}/s3_post", data=form) as response:
        assert response.status == status
        assert response.headers["Retry-After"] == "1"
        assert response.content_type == "application/xml"
        root = ET.fromstring(await response.read())
    assert root.tag == "Error"
    assert root.findtext("Code") == code
    assert root.findtext("Resource") == "/s3_post"
    assert root.findtext("RequestId")
    assert server.handled == []


@pytest.mark.anyio
async def test_drop_disconnects_without_any_response(
    server: FaultyServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.injector.set([FaultSpec(route="direct_upload", drop=True, count=1)])
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    async with aiohttp.ClientSession() as client:
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            async with client.post(f"{server.url}/direct_upload", data=b"payload" * 10_000):
                pass
        async with client.post(f"{server.url}/direct_upload", data=b"payload") as response:
            assert response.status == 200  # the next request (new connection) proceeds
    assert server.handled == ["direct_upload"]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.anyio
async def test_drop_writes_not_a_single_byte(server: FaultyServer) -> None:
    server.injector.set([FaultSpec(route="download", drop=True)])
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /download HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), timeout=30) == b""  # EOF, no status line
    writer.close()


@pytest.mark.anyio
async def test_drop_on_s3_post_with_unread_body(server: FaultyServer) -> None:
    server.injector.set([FaultSpec(route="s3_post", drop=True)])
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(b"y" * 2_000_000), filename="big.bin", content_type="text/plain")
    async with aiohttp.ClientSession() as client:
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            async with client.post(f"{server.url}/s3_post", data=form):
                pass
    assert server.handled == []


@pytest.mark.anyio
async def test_latency_delays_then_proceeds(server: FaultyServer) -> None:
    server.injector.set([FaultSpec(route="session_status", latency_s=0.05)])
    async with aiohttp.ClientSession() as client, client.get(f"{server.url}/session_status") as response:
        assert response.status == 200
    assert server.handled == ["session_status"]
    assert server.inject_durations[-1] >= 0.045  # lower bound only (asyncio may wake a hair early)


@pytest.mark.anyio
async def test_latency_before_error(server: FaultyServer) -> None:
    server.injector.set([FaultSpec(route="list_sessions", latency_s=0.05, status=500)])
    async with aiohttp.ClientSession() as client, client.get(f"{server.url}/list_sessions") as response:
        assert response.status == 500
    assert server.inject_durations[-1] >= 0.045
    assert server.handled == []


@pytest.mark.anyio
async def test_same_seed_same_faults_over_http(server: FaultyServer) -> None:
    async def run() -> list[int]:
        server.injector.set([FaultSpec(route="list_files", rate=0.5, status=503)])
        statuses = []
        async with aiohttp.ClientSession() as client:
            for _ in range(30):
                async with client.get(f"{server.url}/list_files") as response:
                    statuses.append(response.status)
        return statuses

    first = await run()
    assert await run() == first
    assert {200, 503} == set(first)


@pytest.mark.anyio
async def test_lost_response_stores_the_object_but_never_answers(
    http: aiohttp.ClientSession, deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    api = Api(http, deepset_emulator, deepset_workspace)
    session = await api.create_session()
    deepset_emulator.set_faults([{"route": "s3_post", "lose_response": True, "count": 1}])
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        await api.s3_post(session, "kept.txt", b"stored although the answer is lost")
    deepset_emulator.clear_faults()
    names = [item["name"] for item in (await api.session_files(session["session_id"]))["data"]]
    assert names == ["kept.txt"]  # the request took effect: only its answer went missing


def test_lost_response_parses_and_excludes_other_outcomes() -> None:
    assert parse_fault_option("route=s3_post,lose_response,rate=0.03") == FaultSpec(
        route="s3_post", rate=0.03, lose_response=True
    )
    with pytest.raises(ValueError, match="cannot also drop"):
        FaultSpec(route="s3_post", lose_response=True, status=503)
