import importlib.util
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import pytest

from langchain_finops.compression import PromptCompressor

TEXT = (
    "Could you please look at the very long report from Acme about order ORD-991 "
    "and tell me whether the shipment was not delayed, because the customer is "
    "really worried about it? See https://example.com/r/991 and `check_status()`."
)


@pytest.mark.skipif(
    importlib.util.find_spec("llmlingua") is not None, reason="llmlingua is installed"
)
def test_missing_llmlingua_is_a_clear_import_error() -> None:
    with pytest.raises(ImportError, match=r"pip install llmlingua"):
        PromptCompressor(backend="llmlingua2")


class _FakeLLMLingua:
    """Stands in for llmlingua.PromptCompressor: drops every other free word."""

    calls: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def compress_prompt(self, text: str, **kwargs: Any) -> dict[str, Any]:
        type(self).calls.append({"text": text, **kwargs, "init": self.kwargs})
        keep = set(kwargs["force_tokens"])
        words = text.split(" ")
        out = [w for i, w in enumerate(words) if w in keep or i % 2 == 0]
        return {"compressed_prompt": " ".join(out)}


@pytest.fixture
def fake_llmlingua(monkeypatch: pytest.MonkeyPatch) -> type[_FakeLLMLingua]:
    module = types.ModuleType("llmlingua")
    module.PromptCompressor = _FakeLLMLingua  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llmlingua", module)
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        if name == "llmlingua":
            return importlib.machinery.ModuleSpec("llmlingua", None)
        return real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    _FakeLLMLingua.calls = []
    return _FakeLLMLingua


def test_neural_backend_sees_prose_only_and_keeps_protected_words(
    fake_llmlingua: type[_FakeLLMLingua], tmp_path: Path
) -> None:
    compressor = PromptCompressor(
        backend="llmlingua2", llmlingua_model=str(tmp_path), target_ratio=2.0
    )
    result = compressor.compress(TEXT)
    calls = fake_llmlingua.calls
    assert calls[0]["init"] == {
        "model_name": str(tmp_path),
        "use_llmlingua2": True,
        "device_map": "cpu",
    }
    sent = "".join(call["text"] for call in calls)
    # URLs and inline code never reach the model.
    assert "https://example.com/r/991" not in sent
    assert "`check_status()`" not in sent
    for piece in (
        "Acme",
        "ORD-991",
        "not",
        "https://example.com/r/991",
        "`check_status()`",
    ):
        assert piece in result.value
    assert result.report.level == "llmlingua2"
    assert result.report.tokens_saved > 0
    rates = {call["rate"] for call in calls}
    assert len(rates) == 1
    assert 0 < rates.pop() <= 1


def test_model_missing_locally_is_a_clear_runtime_error(
    fake_llmlingua: type[_FakeLLMLingua], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = types.ModuleType("huggingface_hub")

    def snapshot_download(repo_id: str, *, local_files_only: bool) -> str:
        assert local_files_only is True
        raise OSError("not cached")

    hub.snapshot_download = snapshot_download  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "huggingface_hub", hub)
    compressor = PromptCompressor(backend="llmlingua2", target_ratio=2.0)
    with pytest.raises(RuntimeError, match="never downloads weights"):
        compressor.compress(TEXT)
