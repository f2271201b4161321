"""The field-accounting API the SSD and Faster R-CNN mappings share."""

import pytest

from keras_boxloss.odapi.accounting import (NOT_MAPPED, Report, Section,
                                            check_placeholders, resolve_path)
from keras_boxloss.odapi.text_format import parse

TEXT = """model {
  ssd {
    num_classes: 3
    box_coder { faster_rcnn_box_coder { y_scale: 10.0 } }
    empty { }
    loss { hard_example_miner { num_hard_examples: 5 iou_threshold: 0.9 } }
  }
}
"""


def test_marks_cover_subtrees_and_finish_reports_the_rest():
    root = parse(TEXT, "p.config")
    report = Report("p.config")
    ssd = Section(root, "", report).sub("model").sub("ssd")
    ssd.honoured("num_classes", "model.num_classes: 3")
    ssd.sub("box_coder").mark_self("approximated", "fixed coder")
    miner = ssd.sub("loss").sub("hard_example_miner")
    miner.honoured("num_hard_examples", "kept")
    report.finish(root)
    got = {e.path: (e.line, e.status, e.note) for e in report.entries}
    assert got == {
        "model.ssd.num_classes": (3, "honoured", "model.num_classes: 3"),
        "model.ssd.box_coder": (4, "approximated", "fixed coder"),
        "model.ssd.empty": (5, "not supported", NOT_MAPPED),
        "model.ssd.loss.hard_example_miner.num_hard_examples":
            (6, "honoured", "kept"),
        "model.ssd.loss.hard_example_miner.iou_threshold":
            (6, "not supported", NOT_MAPPED),
    }
    assert report.counts() == {"honoured": 2, "approximated": 1,
                               "not supported": 2}
    assert report.format().splitlines()[0] == (
        "p.config:3: model.ssd.num_classes: honoured: model.num_classes: 3")


def test_a_list_value_is_one_entry_repeated_lines_are_one_each():
    """`scales: [0.25, 0.5, 1.0, 2.0]` parses as four fields on one line:
    the report says it once (it printed it four times, and counted 4)."""
    root = parse("grid {\n  scales: [0.25, 0.5, 1.0, 2.0]\n"
                 "  ratios: 1.0\n  ratios: 2.0\n}\n", "p.config")
    report = Report("p.config")
    grid = Section(root, "", report).sub("grid")
    grid.approximated("scales", "the same sizes")
    grid.honoured("ratios", "kept")
    report.finish(root)
    assert [(e.path, e.line) for e in report.entries] == [
        ("grid.scales", 2), ("grid.ratios", 3), ("grid.ratios", 4)]
    assert report.counts() == {"honoured": 2, "approximated": 1,
                               "not supported": 0}


def test_absent_sections_read_defaults_and_mark_nothing():
    report = Report()
    absent = Section(parse("a: 1"), "", report).sub("model").sub("ssd")
    assert not absent and absent.value("num_classes", 7) == 7
    absent.honoured("num_classes", "x")
    absent.mark_self("honoured", "x")
    assert report.entries == []
    kind, choice = absent.oneof()
    assert kind is None and not choice


def test_wrong_shapes_and_two_oneof_choices_are_errors():
    root = parse("a { b: 1 c { } }\nd: 2", "q.config")
    section = Section(root, "", Report("q.config"))
    with pytest.raises(ValueError, match=r"q\.config:1: Expected `a\.c` to "
                       r"be a value"):
        section.sub("a").value("c")
    with pytest.raises(ValueError, match=r"q\.config:2: Expected `d` to be "
                       r"a message"):
        section.sub("d")
    with pytest.raises(ValueError, match=r"Expected one of the choices in "
                       r"`a`. Received: b, c"):
        section.sub("a").oneof()
    assert section.sub("a").oneof(choices=("c",))[0] == "c"


def test_placeholders_one_error_and_paths(tmp_path):
    root = parse('x { p: "PATH_TO_BE_CONFIGURED/a" }\n'
                 'q: ["ok", "PATH_TO_BE_CONFIGURED/b"]')
    with pytest.raises(ValueError, match=r"Received 2 still to fill: x\.p "
                       r"\(line 1: .*\); q \(line 2"):
        check_placeholders(root)
    assert resolve_path("data/a.record", tmp_path) == str(
        tmp_path / "data/a.record")
    assert resolve_path("/abs/a.record", tmp_path) == "/abs/a.record"
