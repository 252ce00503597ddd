"""In-memory uploads (`upload_texts` / `upload_bytes` paths) against the emulator."""

from __future__ import annotations

import pytest

from deepset_cloud.errors import ConfigurationError
from deepset_cloud.models import DeepsetCloudFile, DeepsetCloudFileBytes, WriteMode

from ._harness import Harness

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("count", [5, 45], ids=["direct", "session"])
async def test_texts_and_bytes_arrive_with_their_meta(harness: Harness, count: int) -> None:
    files: list[DeepsetCloudFile | DeepsetCloudFileBytes] = []
    for index in range(count):
        meta = {"index": index} if index % 2 == 0 else None
        if index % 3 == 0:
            files.append(
                DeepsetCloudFileBytes(file_bytes=bytes([index]) * 10, name=f"b{index}.pdf", meta=meta)
            )
        else:
            files.append(DeepsetCloudFile(text=f"text {index} ✓", name=f"t{index}.txt", meta=meta))

    report = await harness.upload_memory(files)

    sidecars = sum(1 for file in files if file.meta is not None)
    if count > 20:
        assert report.total_files == count + sidecars
        assert len(report.session_ids) == 1
        assert report.ingestion is not None
        assert report.ingestion.finished_files == count
    else:
        assert report.total_files == count
        assert report.session_ids == ()
    assert report.failed == ()
    listed = {file.name: file for file in await harness.files()}
    assert {name: file.meta for name, file in listed.items()} == {
        file.name: file.meta or {} for file in files
    }
    text_file = listed["t1.txt"]
    assert text_file.size == len("text 1 ✓".encode())


async def test_empty_meta_dict_gets_a_sidecar(harness: Harness) -> None:
    files = [DeepsetCloudFile(text="x", name=f"f{index}.txt", meta={}) for index in range(21)]

    report = await harness.upload_memory(files)

    assert report.total_files == 42
    assert all(file.meta == {} for file in await harness.files())


async def test_duplicate_names_never_share_a_session(harness: Harness) -> None:
    files = [
        DeepsetCloudFile(text=f"copy {index % 2}", name="same.txt", meta={"copy": index})
        for index in range(3)
    ]
    files += [DeepsetCloudFile(text="other", name=f"o{index}.txt") for index in range(20)]

    report = await harness.upload_memory(files, write_mode=WriteMode.KEEP)

    assert report.failed == ()
    assert len(report.session_ids) == 3
    same = sorted(file.meta["copy"] for file in await harness.files() if file.name == "same.txt")
    assert same == [0, 1, 2]


async def test_bad_items_are_all_named_before_any_request(harness: Harness) -> None:
    before = harness.emulator.stats()["requests"]
    files = [
        DeepsetCloudFile(text="ok", name="ok.txt"),
        DeepsetCloudFile(text="x", name=""),
        DeepsetCloudFile(text="x", name="bad-meta.txt", meta={"when": object()}),
        "not a file",
    ]

    with pytest.raises(ConfigurationError) as caught:
        await harness.upload_memory(files)  # type: ignore[arg-type]

    message = str(caught.value)
    assert "files[1] ('') has no name" in message
    assert "files[2] ('bad-meta.txt') meta is not JSON-serialisable" in message
    assert "files[3] is a str" in message
    assert harness.emulator.stats()["requests"] == before


@pytest.mark.parametrize("count", [2, 21], ids=["direct", "session"])
async def test_meta_json_names_are_refused_on_both_paths(harness: Harness, count: int) -> None:
    files = [DeepsetCloudFile(text="{}", name=f"x{index}.meta.json") for index in range(count)]
    before = harness.emulator.stats()["requests"]

    with pytest.raises(ConfigurationError, match="reserved for metadata"):
        await harness.upload_memory(files)

    assert harness.emulator.stats()["requests"] == before
