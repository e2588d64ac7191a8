import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

from sinelstm.experiment.config import ExperimentConfig  # noqa: E402

# A config that trains in about a second: the whole pipeline, none of the cost.
TINY = ExperimentConfig(length=60, window=8, hidden=4, epochs=3, patience=2, horizon=30)


@pytest.fixture
def tiny() -> ExperimentConfig:
    return TINY
