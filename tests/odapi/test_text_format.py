import math

import pytest

from keras_boxloss.odapi.text_format import Enum, Field, Message, parse


def test_nested_messages_with_and_without_colon_and_angle_brackets():
    root = parse(
        """
        model {
          ssd: {
            num_classes: 90
            box_coder < faster_rcnn_box_coder { y_scale: 10.0 } >
          }
        }
        """
    )
    ssd = root.get("model").get("ssd")
    assert isinstance(ssd, Message)
    assert ssd.get("num_classes") == 90
    coder = ssd.get("box_coder").get("faster_rcnn_box_coder")
    assert coder.get("y_scale") == 10.0
    assert root.field("model").line == 2
    assert ssd.field("num_classes").line == 4
    assert ssd.field("box_coder").line == 5


def test_repeated_fields_and_lists_are_flattened_in_order():
    root = parse(
        """
        aspect_ratios: 1.0
        aspect_ratios: 2.0
        aspect_ratios: [0.5, 3.0]
        aspect_ratios: 0.3333
        input_path: ["a.record", 'b.record']
        options [{ x: 1 }, { x: 2 }]
        options: []
        """
    )
    assert root.get_all("aspect_ratios") == [1.0, 2.0, 0.5, 3.0, 0.3333]
    assert root.get_all("input_path") == ["a.record", "b.record"]
    assert [m.get("x") for m in root.get_all("options")] == [1, 2]
    assert root.get_all("missing") == []
    assert root.names() == ["aspect_ratios", "input_path", "options"]


def test_get_on_a_repeated_field_names_field_and_lines():
    root = parse("a: 1\nb: 2\na: 3\n", source="p.config")
    with pytest.raises(ValueError, match=r"p\.config:3: .*'a' at most once.*lines 1, 3"):
        root.get("a")
    assert root.get("b") == 2
    assert root.get("c", "dflt") == "dflt"
    assert root.field("c") is None


def test_comments_anywhere():
    root = parse(
        """# header
        # another
        item { # opening
          id: 4  # was id: 7
          name: "a # not a comment" # trailing
          # between
        } # after
        """
    )
    item = root.get("item")
    assert item.get("id") == 4
    assert item.get("name") == "a # not a comment"
    assert item.names() == ["id", "name"]


def test_quotes_escapes_and_concatenation():
    root = parse(
        r"""
        a: 'single "inner"'
        b: "double 'inner'"
        c: "tab\there\nnew \"q\" back\\ \x41\101"
        d: 'it\'s'
        e: "con" 'cat'
           "enated"
        """
    )
    assert root.get("a") == 'single "inner"'
    assert root.get("b") == "double 'inner'"
    assert root.get("c") == 'tab\there\nnew "q" back\\ AA'
    assert root.get("d") == "it's"
    assert root.get("e") == "concatenated"
    assert type(root.get("e")) is str


def test_escaped_utf8_bytes_decode_as_protobuf_does():
    """protobuf's MessageToString with as_utf8=False (protobuf 3's
    default, so what the OD API's config_util.save_pipeline_config wrote)
    gives non-ASCII text as octal-escaped UTF-8 bytes; they are one
    character, not one per byte."""
    from google.protobuf import text_format as protobuf_text
    from google.protobuf import wrappers_pb2

    for text in ("café", "汽车", "données/label_map.pbtxt", "tab\tA"):
        written = protobuf_text.MessageToString(
            wrappers_pb2.StringValue(value=text), as_utf8=False)
        assert written.isascii()
        assert parse(written).get("value") == text
    root = parse(r"""
        a: "caf\303\251"
        b: "\xe6\xb1\xbd\350\275\246"
        c: "caf\u00e9 \U0001F600"
        d: "café"
        """)
    assert root.get("a") == "café"
    assert root.get("b") == "汽车"
    assert root.get("c") == "café \U0001F600"
    assert root.get("d") == "café"
    # adjacent strings are joined as bytes first, as protobuf does
    assert parse(r'a: "caf\303" "\251"').get("a") == "café"


@pytest.mark.parametrize("text, expected", [
    ('a: "\\377"', "a string whose escaped bytes are UTF-8 text"),
    ('a: "\\u12"', "4 hex digits"),
    ('a: "\\UFFFFFFFF"', "a Unicode code point"),
    ('a: "\\400"', "an octal escape of one byte")])
def test_bad_string_bytes_are_errors_naming_the_line(text, expected):
    with pytest.raises(ValueError, match=f"pipeline.config:1: Expected "
                       f"{expected}"):
        parse(text, source="pipeline.config")


def test_enums_booleans_and_numbers():
    root = parse(
        """
        activation: RELU_6
        t1: true t2: True t3: t
        f1: false f2: False
        i: 42 n: -1 h: 0x1F o: 017
        f: 1e-4 g: .5 k: -2.5 m: 3. p: 1.5f q: 2E3
        x: inf y: -inf z: nan w: -Infinity
        """
    )
    act = root.get("activation")
    assert isinstance(act, Enum) and act == "RELU_6"
    assert [root.get(k) for k in ("t1", "t2", "t3")] == [True, True, True]
    assert [root.get(k) for k in ("f1", "f2")] == [False, False]
    assert type(root.get("i")) is int and root.get("i") == 42
    assert root.get("n") == -1 and type(root.get("n")) is int
    assert root.get("h") == 31 and root.get("o") == 15
    assert root.get("f") == pytest.approx(1e-4)
    assert root.get("g") == 0.5 and root.get("k") == -2.5 and root.get("m") == 3.0
    assert root.get("p") == 1.5 and root.get("q") == 2000.0
    assert type(root.get("m")) is float
    assert root.get("x") == math.inf and root.get("y") == -math.inf
    assert math.isnan(root.get("z")) and root.get("w") == -math.inf
    # A quoted value is a str, never an Enum.
    assert type(parse('a: "RELU_6"').get("a")) is str


def test_trailing_comma_and_semicolon_separators():
    root = parse(
        """
        conv_hyperparams {
          activation: RELU_6,
          regularizer { l2_regularizer { weight: 0.00004 } };
          batch_norm { train: true, scale: true; center: true },
        },
        """
    )
    hp = root.get("conv_hyperparams")
    assert hp.get("activation") == "RELU_6"
    assert hp.get("regularizer").get("l2_regularizer").get("weight") == pytest.approx(4e-5)
    bn = hp.get("batch_norm")
    assert (bn.get("train"), bn.get("scale"), bn.get("center")) == (True, True, True)


def test_one_line_and_extension_names():
    root = parse('item { name: "x" id: 1 display_name: "X" } [ext.name] { a: 1 }')
    assert root.get("item").names() == ["name", "id", "display_name"]
    assert root.get("[ext.name]").get("a") == 1


def test_field_dataclass_is_frozen_and_carries_line():
    root = parse("\n\nnum_steps: 10\n")
    f = root.field("num_steps")
    assert f == Field("num_steps", 10, 3)
    with pytest.raises(Exception):
        f.name = "other"  # type: ignore[misc]


def test_empty_text_and_only_comments():
    assert parse("").fields == []
    assert parse("# nothing\n  \n").fields == []


@pytest.mark.parametrize(
    "text, line, expected, received",
    [
        ("a {\n b: 1\n", 3, "'}' to close the message opened on line 1", "end of file"),
        ("a: 1\nb 2\n", 2, "':' or '{' after field name 'b'", "'2'"),
        ("a: 1\n\nb: }\n", 3, "a value", "'}'"),
        ("a: [1, 2\nb: 3", 2, "',' or ']' in the list", "'b'"),
        ("a: 1\n} ", 2, "a field name (no message is open here)", "'}'"),
        ("a: 1\nb: @\n", 2, "a field name, value", "'@'"),
        ("a: 'open\n'", 1, "a field name, value", "\"'open\""),
        ("a: 12abc", 1, "a number", "'12abc'"),
        ("a: 019", 1, "an octal integer", "'019'"),
        ('a: "\\q"', 1, "a valid escape sequence", "'\\\\q'"),
        ("a [1, 2]", 1, "'{' (a list without ':' holds messages)", "'1'"),
        ("a {\n b: 1 >", 2, "'}' to close the message opened on line 1", "'>'"),
    ],
)
def test_errors_name_source_line_expected_and_received(text, line, expected, received):
    with pytest.raises(ValueError) as info:
        parse(text, source="pipeline.config")
    message = str(info.value)
    assert message.startswith(f"pipeline.config:{line}: Expected "), message
    assert expected in message, message
    assert message.endswith(f". Received: {received}"), message


def test_mismatched_closer_is_an_error():
    with pytest.raises(ValueError, match=r"<string>:1: Expected '>'.*Received: '}'"):
        parse("a < b: 1 }")


def test_non_string_input_is_rejected():
    with pytest.raises(ValueError, match="Expected text to be a str"):
        parse(b"a: 1")  # type: ignore[arg-type]
