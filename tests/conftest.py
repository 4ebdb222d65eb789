"""Shared fixtures: tiny, seeded, made here (no downloads)."""

import pytest

from benchmarks.data.dataset import Dataset
from benchmarks.testing import random_label_dataset


@pytest.fixture
def random_dataset(tmp_path) -> Dataset:
    return random_label_dataset(tmp_path / "ds")
