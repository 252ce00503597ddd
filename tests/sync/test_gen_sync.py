"""`tools/gen_sync.py` on a small async package of its own: translations, loud failures, `--check`."""

from __future__ import annotations

import importlib.util
import inspect
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

ASYNC_API = '''
"""Things to do asynchronously, e.g. `await async_api.double(2)`."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType

import anyio

from fakepkg._defaults import DEFAULT_OFFSET

__all__ = ["DEFAULT_OFFSET", "AsyncThing", "double", "numbers"]


async def double(value: int, /, *, offset: int = DEFAULT_OFFSET) -> int:
    """Double `value`: `await double(2)` is 4."""
    await anyio.sleep(0)
    return 2 * value + offset


async def numbers(count: int) -> AsyncGenerator[int, None]:
    """Count up, asynchronously: `async for n in numbers(3): ...`."""
    for n in range(count):
        yield n


class AsyncThing:
    """A thing; use `async with AsyncThing() as thing:` and `await thing.aclose()`."""

    _instances = 0

    def __init__(self, size: int = 1, *parts: int, **labels: str) -> None:
        self.size = size + sum(parts)
        self.labels = labels
        self.closed = 0

    def __repr__(self) -> str:
        return f"AsyncThing(size={self.size})"

    async def __aenter__(self) -> AsyncThing:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the thing."""
        self.closed += 1

    async def grow(self, by: int) -> int:
        """Grow by `by`."""
        self.size += by
        return self.size

    async def pieces(self, *, every: int = 1) -> AsyncIterator[int]:
        for piece in range(0, self.size, every):
            yield piece

    def _helper(self) -> None:
        pass
'''


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_sync_under_test", ROOT / "tools" / "gen_sync.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def gen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The generator pointed at a fresh `fakepkg` in tmp_path/src (importable by the test)."""
    src = tmp_path / "src"
    package = src / "fakepkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "_defaults.py").write_text("DEFAULT_OFFSET = 0\n")
    (package / "async_api.py").write_text(ASYNC_API)
    module = load_generator()
    monkeypatch.setattr(module, "SRC", src)
    monkeypatch.setattr(module, "MODULES", {"fakepkg.async_api": "fakepkg.sync_api"})
    monkeypatch.setattr(module, "MODULE_NAMES", {})
    monkeypatch.setattr(module, "CLASSES", {"AsyncThing": "Thing"})
    monkeypatch.setattr(module, "SPECIFIC_WORDING", [])
    monkeypatch.setattr(module, "MODULE_DOCSTRINGS", {})
    monkeypatch.setattr(module, "GENERATED_PACKAGE", "fakepkg.sync_api")
    monkeypatch.setattr(module, "FUNCTION_MODULES", {})
    monkeypatch.setattr(module, "FUNCTION_CREDENTIALS_AFTER", {})
    monkeypatch.setattr(module, "FUNCTION_WORDING", [])
    monkeypatch.syspath_prepend(str(src))
    yield module
    for name in [name for name in sys.modules if name == "fakepkg" or name.startswith("fakepkg.")]:
        del sys.modules[name]


def edit_source(gen: Any, old: str, new: str) -> None:
    path = gen.SRC / "fakepkg" / "async_api.py"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def generated(gen: Any, capsys: pytest.CaptureFixture[str]) -> ModuleType:
    assert gen.main([]) == 0, capsys.readouterr().err
    return importlib.import_module("fakepkg.sync_api")


def test_every_kind_of_async_callable_gets_a_working_sync_twin(
    gen: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sync_api = generated(gen, capsys)
    assert sync_api.double(2, offset=1) == 5
    assert list(sync_api.numbers(3)) == [0, 1, 2]
    with sync_api.Thing(2, 1, color="red") as thing:
        assert thing.grow(2) == 5
        assert list(thing.pieces(every=2)) == [0, 2, 4]
        assert repr(thing) == "Thing(size=5)"
        inner = thing._twin.get()
    assert inner.closed == 1
    assert inner.labels == {"color": "red"}
    assert sorted(sync_api.__all__) == ["DEFAULT_OFFSET", "Thing", "double", "numbers"]


def test_signatures_keep_parameters_and_defaults_as_written_and_map_return_types(
    gen: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sync_api = generated(gen, capsys)
    async_api = importlib.import_module("fakepkg.async_api")
    for name in ("double", "numbers"):
        async_params = inspect.signature(getattr(async_api, name)).parameters
        assert inspect.signature(getattr(sync_api, name)).parameters == async_params
    text = (gen.SRC / "fakepkg" / "sync_api.py").read_text()
    assert "offset: int = DEFAULT_OFFSET" in text  # the default as written, not its value
    assert "def numbers(count: int) -> Generator[int, None, None]:" in text
    assert "def pieces(self, *, every: int = 1) -> Iterator[int]:" in text
    assert "def __enter__(self) -> Thing:" in text
    assert "def __init__(self, size: int = 1, *parts: int, **labels: str) -> None:" in text
    assert "_helper" not in text
    assert text.startswith("# Generated by tools/gen_sync.py from fakepkg.async_api, do not edit.\n")


def test_docstrings_lose_their_async_wording(gen: Any, capsys: pytest.CaptureFixture[str]) -> None:
    sync_api = generated(gen, capsys)
    assert (sync_api.__doc__ or "").strip() == "Things to do synchronously, e.g. `sync_api.double(2)`."

    def summary(function: Any) -> str:
        return (inspect.getdoc(function) or "").splitlines()[0]

    assert summary(sync_api.double) == "Double `value`: `double(2)` is 4."
    assert summary(sync_api.numbers) == "Count up, synchronously: `for n in numbers(3): ...`."
    assert (inspect.getdoc(sync_api.double) or "").endswith(
        "Raises:\n    SyncFacadeError: called from the SDK's own event loop thread (e.g. in a callback)."
    )
    assert sync_api.Thing.__doc__ == "A thing; use `with Thing() as thing:` and `thing.close()`."


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("count: int) -> AsyncGenerator", "count: Awaitable[int]) -> AsyncGenerator", "'Awaitable' here"),
        ("AsyncGenerator[int, None]:", "AsyncGenerator[int, str]:", "only AsyncGenerator[T, None]"),
        ("\nasync def numbers", "\n@functools.cache\nasync def numbers", "no rule for the decorators"),
        ('"""Close the thing."""', '"""Close the thing (a coroutine)."""', "no rule rewrites 'coroutine'"),
        (
            "async def grow(self, by: int) -> int:",
            "async def grow(self, by: int) -> AsyncThing:",
            "'AsyncThing'",
        ),
        (
            '"double", "numbers"]',
            '"double", "numbers", "plain"]\n\n\ndef plain(name: str) -> str:\n    return name',
            "public sync",
        ),
        ("offset: int = DEFAULT_OFFSET", "offset: int = LOCAL", "'LOCAL', defined next to the async code"),
        ("offset: int = DEFAULT_OFFSET", "offset: int = MYSTERY", "cannot tell where 'MYSTERY' comes from"),
        (
            "async def __aenter__(self) -> AsyncThing:\n        return self",
            "async def __aenter__(self) -> AsyncThing:\n        return None",
            "only `return self`",
        ),
        (
            "    async def grow",
            "    def __len__(self) -> int:\n        return 1\n\n    async def grow",
            "no rule for this special method",
        ),
    ],
)
def test_what_cannot_be_translated_fails_loudly(
    gen: Any, capsys: pytest.CaptureFixture[str], old: str, new: str, message: str
) -> None:
    edit_source(gen, old, new)
    if "LOCAL" in new:
        edit_source(gen, "__all__ =", "LOCAL = 1\n__all__ =")
    assert gen.main([]) == 2
    error = capsys.readouterr().err
    assert message in error, error


def test_an_unknown_public_class_or_name_fails_loudly(gen: Any, capsys: pytest.CaptureFixture[str]) -> None:
    edit_source(gen, '__all__ = ["DEFAULT_OFFSET",', '__all__ = ["AsyncOther", "DEFAULT_OFFSET",')
    edit_source(gen, "class AsyncThing:", "class AsyncOther:\n    pass\n\n\nclass AsyncThing:")
    assert gen.main([]) == 2
    assert "fakepkg.async_api.AsyncOther: no rule for this class" in capsys.readouterr().err


def test_a_rule_never_used_fails_loudly(
    gen: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gen, "SPECIFIC_WORDING", [(r"\bnever matches\b", "")])
    assert gen.main([]) == 2
    assert "rules never used" in capsys.readouterr().err


def test_check_reports_stale_missing_and_orphan_files(gen: Any, capsys: pytest.CaptureFixture[str]) -> None:
    output = gen.SRC / "fakepkg" / "sync_api.py"
    assert gen.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err  # missing
    assert gen.main([]) == 0
    assert gen.main(["--check"]) == 0
    output.write_bytes(output.read_bytes() + b"\n")  # a one-byte difference
    assert gen.main(["--check"]) == 1
    assert f"out of date: {output}" in capsys.readouterr().err
    assert gen.main(["--force"]) == 0  # the extra byte counts as a hand edit
    orphan = gen.SRC / "fakepkg" / "sync_old.py"
    orphan.write_text("# Generated by tools/gen_sync.py from fakepkg.async_old, do not edit.\n")
    assert gen.main(["--check"]) == 1
    assert f"orphan (no async source): {orphan}" in capsys.readouterr().err


def test_a_hand_edited_output_is_not_overwritten_without_force(
    gen: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    output = gen.SRC / "fakepkg" / "sync_api.py"
    assert gen.main([]) == 0
    original = output.read_text()
    output.write_text(original.replace("def double(", "def double_edited("))
    edit_source(gen, "Grow by", "Grow the thing by")  # the source changed too: a regeneration is due
    assert gen.main([]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert "double_edited" in output.read_text()
    assert gen.main(["--force"]) == 0
    assert "double_edited" not in output.read_text()
    assert "Grow the thing by" in output.read_text()


def test_the_committed_facade_is_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert load_generator().main(["--check"]) == 0, capsys.readouterr().err


def test_output_is_formatted_by_the_script_itself(gen: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert gen.main([]) == 0
    text = (gen.SRC / "fakepkg" / "sync_api.py").read_text()
    body = text.split("\n", 2)[2]
    assert gen.formatted(body, gen.SRC / "fakepkg" / "sync_api.py") == body  # idempotent
    assert textwrap.dedent(body) == body
