import pytest

from keras_boxloss.data.label_map import (LabelMap, display_names,
                                          label_map_from_names,
                                          parse_label_map, read_label_map,
                                          write_label_map)


def test_round_trip_with_quotes(tmp_path):
    label_map = {1: "cat", 2: "dog's \\ toy", 7: "Platelets"}
    path = write_label_map(label_map, tmp_path / "label_map.pbtxt")
    assert read_label_map(path) == label_map


def test_a_byte_order_mark_is_not_label_map_text(tmp_path):
    # scripts that write with utf-8-sig, and Windows editors, leave one
    path = tmp_path / "label_map.pbtxt"
    path.write_bytes(b"\xef\xbb\xbfitem {\n  id: 1\n  name: 'raccoon'\n}\n")
    assert read_label_map(path) == {1: "raccoon"}


def test_non_ascii_names_escaped_or_not(tmp_path):
    """Label maps written by protobuf 3 (as_utf8=False) escape non-ASCII
    names as octal UTF-8 bytes: one character each, as protobuf reads it."""
    text = ("item { name: \"caf\\303\\251\" id: 1 }\n"
            "item { id: 2 name: '\\346\\261\\275\\350\\275\\246' "
            "display_name: 'Auto \\303\\274' }\n")
    parsed = parse_label_map(text)
    assert parsed == {1: "café", 2: "汽车"}
    assert parsed.display_names == {1: "café", 2: "Auto ü"}
    path = write_label_map(parsed, tmp_path / "label_map.pbtxt")
    assert read_label_map(path) == parsed


def test_round_trip_keeps_display_names(tmp_path):
    label_map = LabelMap({1: "/m/01", 3: "b"}, {1: "Person 'P'"})
    back = read_label_map(write_label_map(label_map, tmp_path / "l.pbtxt"))
    assert back == {1: "/m/01", 3: "b"}
    assert back.display_names == {1: "Person 'P'", 3: "b"}


def test_parses_od_api_variants():
    text = """
    item { name: "/m/01" id: 3 display_name: "person" }
    item {
      id: 1
      display_name: 'bike'
    }
    """
    assert parse_label_map(text) == {3: "/m/01", 1: "bike"}


def test_full_syntax_comments_order_quotes_and_ignored_fields(capsys):
    # As the OD API's own maps are written (mscoco_label_map.pbtxt: name
    # then id then display_name; the LVIS/keypoint maps add keypoints and
    # frequency), plus comments in every place one can go.
    text = """# header comment
item {  # opens
  name: "/m/01g317"
  id: 1
  display_name: "person"
  keypoints { id: 0 label: "nose" }
}
item: { display_name: 'dog' id: 18 name: '/m/0bt9lr' frequency: FREQUENT }
item {
  id: 4  # was id: 7
  name: 'raccoon'  # a trailing comment after a value
};
"""
    label_map = parse_label_map(text, "maps/l.pbtxt")
    assert label_map == {1: "/m/01g317", 18: "/m/0bt9lr", 4: "raccoon"}
    assert label_map.display_names == {1: "person", 18: "dog", 4: "raccoon"}
    assert label_map.display_name(18) == "dog"
    assert label_map.display_name(9) == "9"
    notes = capsys.readouterr().err
    assert "maps/l.pbtxt:6: note: `keypoints`" in notes
    assert "maps/l.pbtxt:8: note: `frequency`" in notes


def test_display_names_of_plain_dicts_and_none():
    assert display_names({2: "b"}) == {2: "b"}
    assert display_names(None) == {}


def test_from_names_numbers_sorted_names_from_one():
    assert label_map_from_names(["dog", "cat", "dog"]) == {1: "cat", 2: "dog"}


@pytest.mark.parametrize("text, message", [
    ("", "at least one"),
    ("item { id: 1 name: 'a' }\n\nitem { id: 1 name: 'b' }",
     r"l.pbtxt:3: Expected unique ids. Received: id 1 again \(first on "
     r"line 1\)"),
    ("item {\n  id: 0\n  name: 'a' }", r"l.pbtxt:2: Expected a positive id"),
    ("item { id: 1 name: 'a' }\nitem {\n  name: 'b' }",
     r"l.pbtxt:2: Expected an `id`"),
    ("item { id: 1 name: 'a' }\nitem { id: 2 name: 'a' }",
     r"l.pbtxt:2: Expected unique class names. Received: name 'a' again"),
    ("item { id: 1 }", r"l.pbtxt:1: Expected a `name` or `display_name`"),
    ("item { id: 1 name: 'a'\n nmae: 'b' }", r"l.pbtxt:2: .* Received: nmae"),
    ("item { id: '1' name: 'a' }", r"l.pbtxt:1: Expected id to be an int"),
    ("item { id: 1 name: 'a' id: 2 }", r"l.pbtxt:1: Expected field 'id' at "
                                        r"most once"),
    ("items { id: 1 name: 'a' }", r"l.pbtxt:1: Expected `item"),
    ("item { id: 1 name: 'a' ", r"l.pbtxt:1: Expected '}'"),
])
def test_bad_label_maps_name_the_line(text, message):
    with pytest.raises(ValueError, match=message):
        parse_label_map(text, "l.pbtxt")


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="No label map file .*nope"):
        read_label_map(tmp_path / "nope.pbtxt")
