import pytest

from keras_boxloss.data.generated import default_dataset


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """The generated default dataset, written once per test session."""
    return default_dataset(tmp_path_factory.mktemp("generated"))
