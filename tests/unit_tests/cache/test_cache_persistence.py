from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation

from langchain_finops.cache import EmbedderMismatchError, SemanticFaissCache

LLM = "[('_type', 'fake'), ('model_name', 'gpt-4o-mini'), ('stop', None)]"


def answer(text: str) -> list[Generation]:
    return [ChatGeneration(message=AIMessage(text))]


def test_entries_survive_a_restart(tmp_path: Path, word_bag: Any) -> None:
    first = SemanticFaissCache(
        embeddings=word_bag, similarity_threshold=0.8, persist_dir=tmp_path
    )
    first.update("capital of france", LLM, answer("Paris"))
    first.update("bake bread", LLM, answer("Knead it"), ttl=3600)
    first.close()
    second = SemanticFaissCache(
        embeddings=word_bag, similarity_threshold=0.8, persist_dir=tmp_path
    )
    assert len(second) == 2
    hit = second.lookup("the capital of france", LLM)
    assert hit is not None
    assert hit[0].text == "Paris"
    assert hit[0].message.response_metadata["finops_cache"]["tier"] == "semantic"  # type: ignore[attr-defined]


def test_a_store_of_another_embedder_is_refused(
    tmp_path: Path,
    word_bag: Any,
    table_embeddings: Callable[[dict[str, list[float]]], Any],
) -> None:
    SemanticFaissCache(
        embeddings=word_bag, similarity_threshold=0.8, persist_dir=tmp_path
    ).update("q", LLM, answer("a"))
    other = table_embeddings({"dimension probe": [1.0, 0.0]})
    with pytest.raises(EmbedderMismatchError) as error:
        SemanticFaissCache(
            embeddings=other, similarity_threshold=0.8, persist_dir=tmp_path
        )
    message = str(error.value)
    assert "'test-word-bag-256' (256 dimensions)" in message
    assert "'test-table' (2 dimensions)" in message
    assert "another `persist_dir`" in message


def test_a_changed_dimension_is_refused(tmp_path: Path, word_bag: Any) -> None:
    SemanticFaissCache(
        embeddings=word_bag, similarity_threshold=0.8, persist_dir=tmp_path
    ).close()
    word_bag.dimension = 128
    with pytest.raises(EmbedderMismatchError, match="256 dimensions"):
        SemanticFaissCache(
            embeddings=word_bag, similarity_threshold=0.8, persist_dir=tmp_path
        )


def test_a_file_as_persist_dir_is_refused(tmp_path: Path, word_bag: Any) -> None:
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ValueError, match="must be a directory"):
        SemanticFaissCache(
            embeddings=word_bag, similarity_threshold=0.8, persist_dir=path
        )


def test_two_caches_on_one_directory_see_each_other(
    tmp_path: Path, word_bag: Any
) -> None:
    one = SemanticFaissCache(
        embeddings=word_bag, similarity_threshold=0.8, persist_dir=tmp_path
    )
    two = SemanticFaissCache(
        embeddings=word_bag, similarity_threshold=0.8, persist_dir=tmp_path
    )
    one.update("capital of france", LLM, answer("Paris"))
    hit = two.lookup("the capital of france", LLM)
    assert hit is not None
    assert hit[0].text == "Paris"
    two.update("capital of france", LLM, answer("Paris, France"))
    replaced = one.lookup("capital of france", LLM)
    assert replaced is not None
    assert replaced[0].text == "Paris, France"
    assert len(one) == len(two) == 1
    two.invalidate("capital of france", LLM)
    assert one.lookup("capital of france", LLM) is None
    assert one.lookup("the capital of france", LLM) is None


_WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from conftest import WordBagEmbeddings
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration
    from langchain_finops.cache import SemanticFaissCache

    cache = SemanticFaissCache(
        embeddings=WordBagEmbeddings(), similarity_threshold=0.8,
        persist_dir={directory!r}, max_entries={max_entries},
    )
    index = 0
    while True:
        text = "answer %d " % index + "x" * 2000
        cache.update("question number %d" % index, {llm!r},
                     [ChatGeneration(message=AIMessage(text))])
        if index == 20:
            print("ready", flush=True)
        index += 1
    """
)


def _run_writer(directory: Path, *, max_entries: int) -> subprocess.Popen[str]:
    script = _WRITER.format(
        tests=str(Path(__file__).parent),
        directory=str(directory),
        llm=LLM,
        max_entries=max_entries,
    )
    return subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )


def test_a_kill_during_writes_leaves_a_consistent_store(
    tmp_path: Path, word_bag: Any
) -> None:
    # With max_entries the writer also evicts on every write: the kill lands
    # inside an insert, an eviction or a commit.
    max_entries = 50
    writer = _run_writer(tmp_path, max_entries=max_entries)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # let it run mid-stream of writes and evictions
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    assert writer.returncode == -signal.SIGKILL

    with sqlite3.connect(tmp_path / "cache.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = conn.execute("SELECT query FROM entries").fetchall()
    assert 21 <= len(rows) <= max_entries
    cache = SemanticFaissCache(
        embeddings=word_bag, similarity_threshold=0.8, persist_dir=tmp_path
    )
    assert len(cache) == len(rows)
    for (query,) in rows:
        hit = cache.lookup(query, LLM)
        number = query.rsplit(" ", 1)[1]
        assert hit is not None
        assert hit[0].text.startswith(f"answer {number} ")
    # The store still takes writes after the crash.
    cache.update("after the crash", LLM, answer("fine"))
    assert cache.lookup("after the crash", LLM) is not None


def test_another_process_sees_our_entries_and_we_see_its(
    tmp_path: Path, word_bag: Any
) -> None:
    ours = SemanticFaissCache(
        embeddings=word_bag, similarity_threshold=0.8, persist_dir=tmp_path
    )
    ours.update("written by the parent", LLM, answer("parent"))
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from conftest import WordBagEmbeddings
        from langchain_core.messages import AIMessage
        from langchain_core.outputs import ChatGeneration
        from langchain_finops.cache import SemanticFaissCache
        cache = SemanticFaissCache(embeddings=WordBagEmbeddings(),
            similarity_threshold=0.8, persist_dir={str(tmp_path)!r})
        hit = cache.lookup("written by the parent", {LLM!r})
        print(hit[0].text if hit else "miss")
        cache.update("written by the child", {LLM!r},
                     [ChatGeneration(message=AIMessage("child"))])
        """
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "parent"
    hit = ours.lookup("written by the child", LLM)
    assert hit is not None
    assert hit[0].text == "child"
