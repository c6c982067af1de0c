"""Fixtures of the memory tests."""

from __future__ import annotations

import pytest

from langchain_finops.testing import FakeUsageChatModel
from tests.unit_tests.memory.memory_testkit import MODEL, words


@pytest.fixture
def summary_model() -> FakeUsageChatModel:
    """A summariser whose every summary is five words (15-token message)."""
    return FakeUsageChatModel(model_name=MODEL, responses=[words(5, "sum")])
