"""The S3-style presigned POST endpoint: signature, expiry, key prefix, limits, XML errors, stats."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.emulator.clock import ManualClock
from tests.support import poll_until

from .emulator_api import Api, Reply

pytestmark = pytest.mark.anyio


def _xml_code(reply: Reply) -> str:
    assert reply.headers["Content-Type"].startswith("application/xml")
    assert reply.text.count("<Error>") == 1
    return reply.text.split("<Code>")[1].split("</Code>")[0]


async def _object_names(api: Api, session: dict[str, Any]) -> list[str]:
    files = await api.session_files(session["session_id"])
    return [f["name"] for f in files["data"]]


async def test_session_config_points_at_the_emulator_s3_endpoint(api: Api) -> None:
    session = await api.create_session()
    config = session["aws_prefixed_request_config"]
    assert config["url"] == f"{api.emulator.base_url}/_s3/user-files-upload/"
    fields = config["fields"]
    assert fields["key"] == f"{api.workspace}/{session['session_id']}/${{filename}}"
    assert {"policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"} <= set(fields)
    assert all(isinstance(v, str) for v in fields.values())


async def test_post_stores_object_and_replies_204(api: Api) -> None:
    session = await api.create_session()
    reply = await api.s3_post(session, "a.txt", b"hello")
    assert (reply.status, reply.body) == (204, b"")
    assert await _object_names(api, session) == ["a.txt"]


async def test_filename_is_percent_decoded_once(api: Api) -> None:
    session = await api.create_session()
    # aiohttp's FormData(quote_fields=True) sends filename="my%20file%2520x.txt" for "my file%20x.txt".
    assert (await api.s3_post(session, "my file%20x.txt", b"x")).status == 204
    await api.close(session["session_id"])
    await api.wait_ingested(session["session_id"], 1)
    assert [i["name"] for i in await api.list_all()] == ["my file%20x.txt"]


async def test_reposting_the_same_key_replaces_the_object(api: Api) -> None:
    session = await api.create_session()
    for body in (b"first", b"second"):
        assert (await api.s3_post(session, "same.txt", body)).status == 204
    assert await _object_names(api, session) == ["same.txt"]
    await api.close(session["session_id"])
    counts = await api.wait_ingested(session["session_id"], 1)
    assert counts == {"failed_files": 0, "finished_files": 1}
    (item,) = await api.list_all()
    assert (await api.call("GET", f"files/{item['file_id']}")).body == b"second"


async def test_concurrent_posts_of_one_key_leave_exactly_one_whole_object(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    emulator = deepset_make_emulator()
    api = Api(http, emulator, "ws")
    session = await api.create_session()
    # Big bodies are streamed into blob files while the others arrive; small ones stay inline.
    bodies = [bytes([ord("a") + i]) * 1_000_000 for i in range(6)] + [b"small-1", b"small-2"]
    replies = await asyncio.gather(*(api.s3_post(session, "same.txt", body) for body in bodies))
    assert [reply.status for reply in replies] == [204] * len(bodies)
    assert await _object_names(api, session) == ["same.txt"]
    blob_files = [p for p in (emulator.data_dir / "blobs").rglob("*") if p.is_file()]
    assert len(blob_files) <= 1  # every replaced blob is gone
    await api.close(session["session_id"])
    assert await api.wait_ingested(session["session_id"], 1) == {"failed_files": 0, "finished_files": 1}
    (item,) = await api.list_all()
    assert (await api.call("GET", f"files/{item['file_id']}")).body in bodies  # one post, whole


async def test_tampered_signature_and_policy_are_rejected(api: Api) -> None:
    session = await api.create_session()
    fields = dict(session["aws_prefixed_request_config"]["fields"])
    bad_signature = {**fields, "x-amz-signature": "0" * 64}
    reply = await api.s3_post(session, "a.txt", b"x", fields=bad_signature)
    assert (reply.status, _xml_code(reply)) == (403, "SignatureDoesNotMatch")
    document = json.loads(base64.b64decode(fields["policy"]))
    document["expiration"] = "2999-01-01T00:00:00.000000Z"
    forged = {**fields, "policy": base64.b64encode(json.dumps(document).encode()).decode()}
    reply = await api.s3_post(session, "a.txt", b"x", fields=forged)
    assert (reply.status, _xml_code(reply)) == (403, "SignatureDoesNotMatch")
    missing = {k: v for k, v in fields.items() if k != "policy"}
    reply = await api.s3_post(session, "a.txt", b"x", fields=missing)
    assert (reply.status, _xml_code(reply)) == (400, "InvalidArgument")
    assert await _object_names(api, session) == []


async def test_wrong_key_prefix_is_access_denied(api: Api) -> None:
    session = await api.create_session()
    other = await api.create_session()
    fields = dict(session["aws_prefixed_request_config"]["fields"])
    fields["key"] = f"{api.workspace}/{other['session_id']}/${{filename}}"
    reply = await api.s3_post(session, "a.txt", b"x", fields=fields)
    assert (reply.status, _xml_code(reply)) == (403, "AccessDenied")
    assert "Policy Condition failed" in reply.text
    fields["key"] = "${filename}"  # the placeholder must not be able to escape the prefix
    reply = await api.s3_post(session, f"{api.workspace}/{session['session_id']}/a.txt", b"x", fields=fields)
    assert (reply.status, _xml_code(reply)) == (403, "AccessDenied")
    assert await _object_names(api, session) == []
    assert await _object_names(api, other) == []


async def test_rejected_posts_leave_no_blobs(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    emulator = deepset_make_emulator()
    api = Api(http, emulator, "ws")
    session = await api.create_session()
    big = b"z" * 200_000  # larger than the inline limit: streamed into a blob file
    bad_signature = {**session["aws_prefixed_request_config"]["fields"], "x-amz-signature": "0" * 64}
    assert (await api.s3_post(session, "a.txt", big, fields=bad_signature)).status == 403
    await api.close(session["session_id"])
    assert (await api.s3_post(session, "b.txt", big)).status == 403
    assert [p for p in (emulator.data_dir / "blobs").rglob("*") if p.is_file()] == []


async def test_expired_policy_is_access_denied(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    clock = ManualClock()
    api = Api(http, deepset_make_emulator(session_ttl_s=60, clock=clock), "ws")
    session = await api.create_session()
    assert (await api.s3_post(session, "early.txt", b"x")).status == 204
    clock.advance(60)
    late = await api.s3_post(session, "late.txt", b"x")
    assert (late.status, _xml_code(late)) == (403, "AccessDenied")
    assert "Policy expired" in late.text


async def test_too_large_object_is_entity_too_large(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    emulator = deepset_make_emulator(max_object_bytes=100)
    api = Api(http, emulator, "ws")
    session = await api.create_session()
    reply = await api.s3_post(session, "big.bin", b"x" * 101)
    assert (reply.status, _xml_code(reply)) == (400, "EntityTooLarge")
    assert (await api.s3_post(session, "ok.bin", b"x" * 100)).status == 204
    # Lowering the limit at runtime also binds sessions created before (the body limit is the config's).
    emulator.configure(max_object_bytes=50)
    reply = await api.s3_post(session, "ok2.bin", b"x" * 60)
    assert (reply.status, _xml_code(reply)) == (400, "EntityTooLarge")
    blobs = [p for p in (emulator.data_dir / "blobs").rglob("*") if p.is_file()]
    assert blobs == []  # nothing of the rejected posts stays behind (ok.bin is small: stored inline)


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"garbage", "multipart/form-data; boundary=xyz", "MalformedPOSTRequest"),
        (b"garbage", "text/plain", "MalformedPOSTRequest"),
        (
            b'--b\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
            "InvalidArgument",
        ),
    ],
)
async def test_malformed_posts(api: Api, body: bytes, content_type: str, code: str) -> None:
    session = await api.create_session()
    url = session["aws_prefixed_request_config"]["url"]
    reply = await api.raw("POST", url, data=body, headers={"Content-Type": content_type})
    assert (reply.status, _xml_code(reply)) == (400, code)


async def test_file_must_be_the_last_part(api: Api) -> None:
    session = await api.create_session()
    config = session["aws_prefixed_request_config"]
    form = aiohttp.FormData(quote_fields=True)
    form.add_field("file", b"x", filename="a.txt", content_type="text/plain")
    for key, value in config["fields"].items():
        form.add_field(key, value)
    reply = await api.raw("POST", config["url"], data=form)
    assert (reply.status, _xml_code(reply)) == (400, "InvalidArgument")
    assert "last part" in reply.text
    assert await _object_names(api, session) == []


async def test_post_to_closed_session_is_rejected(api: Api) -> None:
    session = await api.create_session()
    await api.close(session["session_id"])
    reply = await api.s3_post(session, "late.txt", b"x")
    assert (reply.status, _xml_code(reply)) == (403, "AccessDenied")
    assert "closed" in reply.text


async def test_post_to_deleted_workspace_session_is_rejected(api: Api) -> None:
    session = await api.create_session()
    deleted = await api.raw("DELETE", f"{api.emulator.api_url}/workspaces/{api.workspace}", headers=api.auth)
    assert deleted.status == 204
    reply = await api.s3_post(session, "a.txt", b"x")
    assert (reply.status, _xml_code(reply)) == (403, "AccessDenied")


async def test_max_files_per_session(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    api = Api(http, deepset_make_emulator(max_files_per_session=2), "ws")
    session = await api.create_session()
    assert (await api.s3_post(session, "a.txt", b"x")).status == 204
    assert (await api.s3_post(session, "a.txt.meta.json", b"{}")).status == 204
    reply = await api.s3_post(session, "b.txt", b"x")
    assert (reply.status, _xml_code(reply)) == (403, "AccessDenied")
    assert "max_files_per_session" in reply.text
    assert (await api.s3_post(session, "a.txt", b"again")).status == 204  # replacing stays within the limit


async def test_stats_count_authorization_headers_sent_to_s3(api: Api) -> None:
    before = api.emulator.stats()
    session = await api.create_session()
    assert (await api.s3_post(session, "clean.txt", b"x")).status == 204
    leaked = await api.s3_post(session, "leak.txt", b"x", headers=api.auth)
    assert leaked.status == 204  # S3 ignores it; the leak is only counted
    after = api.emulator.stats()
    assert after["s3_requests_with_authorization"] == before["s3_requests_with_authorization"] + 1
    assert after["requests"]["s3_post"] == before["requests"].get("s3_post", 0) + 2
    assert after["s3_objects_received"] == before["s3_objects_received"] + 2


async def test_other_requests_to_the_s3_prefix_get_s3_errors_and_are_counted(api: Api) -> None:
    before = api.emulator.stats()["s3_requests_with_authorization"]
    s3 = api.emulator.s3_url
    reply = await api.raw("GET", s3, headers=api.auth)
    assert (reply.status, _xml_code(reply)) == (405, "MethodNotAllowed")
    reply = await api.raw("PUT", f"{api.emulator.base_url}/_s3/other-bucket/key", headers=api.auth)
    assert (reply.status, _xml_code(reply)) == (404, "NoSuchBucket")
    assert api.emulator.stats()["s3_requests_with_authorization"] == before + 2
    session = await api.create_session()
    no_slash = {
        **session,
        "aws_prefixed_request_config": {**session["aws_prefixed_request_config"], "url": s3.rstrip("/")},
    }
    assert (await api.s3_post(no_slash, "a.txt", b"x")).status == 204


async def test_success_action_status_201(api: Api) -> None:
    session = await api.create_session()
    fields = {**session["aws_prefixed_request_config"]["fields"], "success_action_status": "201"}
    reply = await api.s3_post(session, "a&b.txt", b"x", fields=fields)
    assert reply.status == 201
    assert f"<Key>{api.workspace}/{session['session_id']}/a&amp;b.txt</Key>" in reply.text


async def test_stopping_with_a_large_post_in_flight_leaves_no_spool_file(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    emulator = deepset_make_emulator()
    api = Api(http, emulator, "ws")
    session = await api.create_session()
    config = session["aws_prefixed_request_config"]
    boundary = "in-flight-boundary"
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in config["fields"].items()
    )
    head += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
    sent = head.encode() + b"x" * 300_000  # past the inline limit: spooled into a blob shard
    url = urlsplit(config["url"])
    _reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(
            f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {len(sent) + 10**6}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n".encode()
            + sent
        )
        await writer.drain()

        async def spooling() -> bool:
            return any(p.is_file() for p in (emulator.data_dir / "blobs").rglob("*"))

        await poll_until(spooling, what="the post's spool file")
        await asyncio.to_thread(emulator.stop)
        assert not emulator.running
        assert [p for p in (emulator.data_dir / "blobs").rglob("*") if p.is_file()] == []
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_posts_the_server_answers_directly_and_through_the_application_answer_alike(api: Api) -> None:
    """A POST to exactly the bucket URL skips the router; one with a query string or `Expect` does not."""
    session = await api.create_session()
    config = session["aws_prefixed_request_config"]
    ways: dict[str, dict[str, Any]] = {
        "direct": {},
        "query": {"url": config["url"] + "?upload=1"},
        "expect": {"expect100": True},
    }
    before = api.emulator.stats()
    tampered = {**config["fields"], "x-amz-signature": "0" * 64}
    answers = []
    for way, options in ways.items():
        url = options.get("url", config["url"])
        extra = {k: v for k, v in options.items() if k != "url"}
        for fields, name in ((config["fields"], f"{way}.txt"), (tampered, f"bad-{way}.txt")):
            form = aiohttp.FormData(quote_fields=True)
            for key, value in fields.items():
                form.add_field(key, value)
            form.add_field("file", b"x", filename=name, content_type="text/plain")
            reply = await api.raw("POST", url, data=form, headers=api.auth, **extra)
            code = _xml_code(reply) if reply.status != 204 else ""
            message = reply.text.split("<Message>")[1].split("</Message>")[0] if code else ""
            answers.append((reply.status, code, message))
    assert answers == [(204, "", ""), (403, "SignatureDoesNotMatch", answers[1][2])] * 3
    after = api.emulator.stats()
    assert after["requests"]["s3_post"] == before["requests"].get("s3_post", 0) + 6
    assert after["s3_requests_with_authorization"] == before["s3_requests_with_authorization"] + 6
    assert after["s3_objects_received"] == before["s3_objects_received"] + 3
    assert sorted(await _object_names(api, session)) == ["direct.txt", "expect.txt", "query.txt"]
