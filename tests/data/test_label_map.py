import pytest

from keras_boxloss.data.label_map import (label_map_from_names,
                                          parse_label_map, read_label_map,
                                          write_label_map)


def test_round_trip_with_quotes(tmp_path):
    label_map = {1: "cat", 2: "dog's \\ toy", 7: "Platelets"}
    path = write_label_map(label_map, tmp_path / "label_map.pbtxt")
    assert read_label_map(path) == label_map


def test_parses_od_api_variants():
    text = """
    item { name: "/m/01" id: 3 display_name: "person" }
    item {
      id: 1
      display_name: 'bike'
    }
    """
    assert parse_label_map(text) == {3: "/m/01", 1: "bike"}


def test_from_names_numbers_sorted_names_from_one():
    assert label_map_from_names(["dog", "cat", "dog"]) == {1: "cat", 2: "dog"}


@pytest.mark.parametrize("text, message", [
    ("", "at least one"),
    ("item { id: 1 name: 'a' } item { id: 1 name: 'b' }", "unique ids"),
    ("item { id: 0 name: 'a' }", "positive integer ids"),
    ("item { name: 'a' }", "integer id and a name in item 0"),
    ("item { id: 1 name: 'a' } item { id: 2 name: 'a' }", "unique class"),
])
def test_bad_label_maps(text, message):
    with pytest.raises(ValueError, match=message):
        parse_label_map(text)
