import pytest

import footmetrics


@pytest.fixture
def registry():
    return footmetrics.CollectorRegistry()
