"""The optional LLMLingua-2 backend, loaded only when asked for.

`llmlingua` pulls in PyTorch and `transformers`, so it is never a dependency
of this package. Its model must already be on disk (a local directory, or a
Hugging Face cache entry): this package never downloads weights at run time.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from typing import Any

__all__ = ["DEFAULT_LLMLINGUA2_MODEL", "LLMLingua2", "require_llmlingua"]

DEFAULT_LLMLINGUA2_MODEL = "microsoft/llmlingua-2-xlm-roberta-large-meetingbank"


def require_llmlingua() -> None:
    """Fail fast when the `llmlingua` package is missing.

    Raises:
        ImportError: If `llmlingua` cannot be imported.
    """
    if importlib.util.find_spec("llmlingua") is None:
        msg = (
            "PromptCompressor(backend='llmlingua2') needs the optional `llmlingua` "
            "package, which is not installed (it brings PyTorch and transformers, "
            "so langchain-finops does not depend on it). Install it with "
            "`pip install llmlingua`, put the LLMLingua-2 model on disk, or use "
            "the default backend='heuristic', which needs neither."
        )
        raise ImportError(msg)


def _local_model_path(model: str) -> str:
    if os.path.isdir(model):
        return model
    try:
        from huggingface_hub import snapshot_download
    except ImportError as error:  # pragma: no cover - transformers brings it
        msg = f"Cannot look up the LLMLingua-2 model {model!r}: no huggingface_hub."
        raise RuntimeError(msg) from error
    try:
        return str(snapshot_download(model, local_files_only=True))
    except Exception as error:
        msg = (
            f"The LLMLingua-2 model {model!r} is not on this machine, and "
            "langchain-finops never downloads weights at run time. Download it "
            f"once (`huggingface-cli download {model}`), or pass the path of a "
            "local copy as `llmlingua_model=`."
        )
        raise RuntimeError(msg) from error


class LLMLingua2:
    """A lazily loaded LLMLingua-2 token classifier on the CPU."""

    def __init__(self, model: str) -> None:
        self._model = model
        self._compressor: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._compressor is None:
                path = _local_model_path(self._model)
                llmlingua = importlib.import_module("llmlingua")
                try:
                    self._compressor = llmlingua.PromptCompressor(
                        model_name=path, use_llmlingua2=True, device_map="cpu"
                    )
                except Exception as error:
                    msg = f"LLMLingua-2 could not load the model at {path!r}: {error}"
                    raise RuntimeError(msg) from error
            return self._compressor

    def compress(self, text: str, *, rate: float, keep: list[str]) -> str:
        """Compress `text` to about `rate` of its tokens, keeping `keep` words.

        Raises:
            RuntimeError: If the model is not available locally.
        """
        compressor = self._load()
        result = compressor.compress_prompt(text, rate=rate, force_tokens=keep)
        return str(result["compressed_prompt"])
