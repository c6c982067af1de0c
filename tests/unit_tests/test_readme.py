"""Every Python example in the README runs, offline, as a user would paste it."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("source", EXAMPLES, ids=lambda s: s.splitlines()[0][:60])
def test_readme_example_runs(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Examples that write files write them into a scratch directory.
    from langchain_core.globals import set_llm_cache

    monkeypatch.chdir(tmp_path)
    try:
        exec(compile(source, str(README), "exec"), {"__name__": "__readme__"})
    finally:
        # An example may install a global LLM cache; it must not leak.
        set_llm_cache(None)
