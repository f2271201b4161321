"""The OD API's label_map_util accepts an `id: 0` item named 'background'
(by name or display_name); such maps read here too, the item skipped with
a note. Any other id 0 stays an error."""

import pytest

from keras_boxloss.data.label_map import parse_label_map

WITH_BACKGROUND = """item {
  id: 0
  name: 'background'
}
item {
  id: 1
  name: 'cat'
}
item { id: 2 name: 'none' display_name: 'background' }
"""


def test_background_item_id_0_is_skipped_with_a_note(capsys):
    label_map = parse_label_map(WITH_BACKGROUND, "l.pbtxt")
    assert dict(label_map) == {1: "cat", 2: "none"}
    assert capsys.readouterr().err == (
        "l.pbtxt:1: note: the id 0 'background' item skipped (the "
        "background is implicit)\n")
    label_map = parse_label_map(
        "item { id: 0 display_name: 'background' }\nitem { id: 1 name: 'a' }",
        "l.pbtxt")
    assert dict(label_map) == {1: "a"}


def test_other_id_0_items_are_still_errors():
    with pytest.raises(ValueError, match=r"l.pbtxt:1: Expected a positive "
                                         r"id .* Received: id=0"):
        parse_label_map("item { id: 0 name: 'cat' }", "l.pbtxt")
    with pytest.raises(ValueError, match="at least one"):
        parse_label_map("item { id: 0 name: 'background' }", "l.pbtxt")
