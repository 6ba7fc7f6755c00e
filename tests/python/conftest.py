import pytest

import eventmesh


@pytest.fixture
def mesh():
    m = eventmesh.open("mem:")
    yield m
    m.close()


@pytest.fixture
def lmdb_url(tmp_path):
    return str(tmp_path / "data")
