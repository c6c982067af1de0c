"""The shipped sample is exactly what scripts/build_sample.py makes."""

import gzip
import importlib.util
import json
from pathlib import Path

import pytest

from langchain_finops.simulate.responder import reply_length_percentiles
from langchain_finops.simulate.traffic import SAMPLE_PATH

REPO = Path(__file__).resolve().parents[3]
DATA = REPO.parent / "shared" / "data"


@pytest.mark.skipif(
    not (DATA / "banking77").is_dir(),
    reason="the shared data sets are not beside the repo",
)
def test_build_script_reproduces_the_shipped_files() -> None:
    spec = importlib.util.spec_from_file_location(
        "build_sample", REPO / "scripts" / "build_sample.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    records, lengths = module.build(DATA, 7)
    with gzip.open(SAMPLE_PATH, "rt", encoding="utf-8") as f:
        shipped = [json.loads(line) for line in f]
    assert records == shipped
    assert tuple(lengths["percentiles"]) == reply_length_percentiles()
    # Only the may-ship sources are in it.
    assert {r["source"] for r in records} == {"banking77", "clinc150", "chitchat"}
