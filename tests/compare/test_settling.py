"""The settling judgement on curves worked out by hand."""

import pytest

from keras_boxloss.compare.settling import settling, settling_markdown


def _curve(*points):
    return [{"step": step, "val_mean_iou": iou, "val_AP50": ap50}
            for step, iou, ap50 in points]


def test_settled_when_every_change_is_within_the_seed_spread():
    curves = {"huber": {
        0: _curve((100, 0.30, 0.60), (200, 0.31, 0.62)),
        1: _curve((100, 0.35, 0.70), (200, 0.34, 0.67)),
    }}
    result = settling(curves, ["huber"])["huber"]
    assert result["last_interval_steps"] == 100
    # changes: IoU max(0.01, 0.01), AP50 max(0.02, 0.03)
    assert result["val_mean_iou"] == pytest.approx(0.01)
    assert result["val_AP50"] == pytest.approx(0.03)
    # spreads at the end: IoU 0.34 - 0.31, AP50 0.67 - 0.62
    assert result["val_mean_iou_seed_spread"] == pytest.approx(0.03)
    assert result["val_AP50_seed_spread"] == pytest.approx(0.05)
    assert result["settled"] is True


def test_not_settled_when_one_seed_still_moves_more_than_the_spread():
    curves = {"huber": {
        0: _curve((100, 0.30, 0.60), (200, 0.31, 0.80)),  # AP50 +0.20
        1: _curve((100, 0.30, 0.70), (200, 0.31, 0.75)),
    }, "smooth_iou": {
        0: _curve((0, 0.1, 0.1), (300, 0.2, 0.5), (400, 0.2, 0.5)),
        1: _curve((0, 0.1, 0.1), (300, 0.2, 0.5), (400, 0.2, 0.5)),
    }}
    result = settling(curves, ["huber", "smooth_iou"])
    assert result["huber"]["val_AP50"] == pytest.approx(0.20)
    assert result["huber"]["val_AP50_seed_spread"] == pytest.approx(0.05)
    assert result["huber"]["settled"] is False
    # flat curves, identical seeds: zero change within zero spread
    assert result["smooth_iou"]["last_interval_steps"] == 100
    assert result["smooth_iou"]["settled"] is True
    markdown = settling_markdown(result)
    assert ("- huber: mean IoU 0.010 (spread 0.000), mAP@.5 0.200 (spread "
            "0.050) over the last 100 steps: not settled") in markdown
    assert "- smooth_iou:" in markdown and markdown.count(": settled") == 1


def test_one_seed_or_no_curve_cannot_be_judged():
    curves = {"huber": {0: _curve((100, 0.3, 0.6), (200, 0.3, 0.6))},
              "giou": {0: _curve((100, 0.3, 0.6))}}
    result = settling(curves, ["huber", "giou", "ciou"])
    assert result["huber"]["settled"] is None
    assert set(result) == {"huber"}  # one point (or none) is no interval
    assert "one seed: no spread to judge by" in settling_markdown(result)
    assert settling_markdown({}) == ""
