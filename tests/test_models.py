"""Model audit: every public model is a frozen, slotted, keyword-only attrs class."""

from __future__ import annotations

import enum
import inspect

import attrs
import pytest

from deepset_cloud import models

MODEL_CLASSES = [
    getattr(models, name)
    for name in models.__all__
    if inspect.isclass(getattr(models, name)) and not issubclass(getattr(models, name), enum.Enum)
]


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda cls: cls.__name__)
def test_models_are_frozen_slotted_and_keyword_only(cls: type) -> None:
    assert attrs.has(cls)
    assert "__slots__" in cls.__dict__
    assert all(field.kw_only for field in attrs.fields(cls)), cls
    instance_fields = attrs.fields(cls)
    assert instance_fields, cls
    with pytest.raises(TypeError):
        cls(*([None] * len(instance_fields)))


def test_frozen_models_refuse_mutation() -> None:
    file = models.DeepsetCloudFile(text="hello", name="a.txt")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        file.name = "b.txt"  # type: ignore[misc]


def test_bytes_model_repr_does_not_dump_content() -> None:
    payload = models.DeepsetCloudFileBytes(file_bytes=b"secret-content" * 1000, name="a.bin")
    assert "secret-content" not in repr(payload)
    assert "14000 bytes" in repr(payload)


def test_failed_upload_reason_comes_from_its_exception() -> None:
    result = models.FileUploadResult(file_name="a.txt", success=False, exception=ValueError("broken"))
    assert result.reason == "broken"
    assert models.FileUploadResult(file_name="a.txt", success=True).reason is None
