"""Aggregation checked against values worked out by hand."""

import math

import pytest

from keras_boxloss.compare.summary import (format_markdown, mean_std,
                                           paired_test, summarize,
                                           t_critical)


def test_mean_and_sample_std():
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert mean_std([0.5]) == (0.5, 0.0)


def test_t_critical_uses_the_smaller_tabulated_df():
    assert t_critical(2) == 4.303
    assert t_critical(12) == 2.228  # df 10's value: conservative


def test_paired_test_by_hand():
    # differences 0.1, 0.2, 0.1: mean 2/15, sd 1/sqrt(300), t = 4.0 < 4.303
    lead, t, exceeds = paired_test({0: .5, 1: .6, 2: .7},
                                   {0: .4, 1: .4, 2: .6})
    assert lead == pytest.approx(2 / 15)
    assert t == pytest.approx(4.0)
    assert exceeds is False
    # differences 0.10, 0.11, 0.12: t = 0.11 / (0.01 / sqrt 3) = 19.05
    lead, t, exceeds = paired_test({0: .5, 1: .61, 2: .72},
                                   {0: .4, 1: .5, 2: .6})
    assert t == pytest.approx(0.11 / (0.01 / math.sqrt(3)))
    assert exceeds is True


def test_paired_test_compares_common_seeds_only_and_one_seed_is_open():
    lead, t, exceeds = paired_test({0: .5, 5: .9}, {0: .4, 1: .0})
    assert lead == pytest.approx(0.1) and t is None and exceeds is None


def _results(values):
    return [{"loss": loss, "seed": seed, "mean_iou_every_prediction": v,
             "mean_iou_matched_detections": v, "AP50": v, "AP75": v,
             "AP": v, "AR1": v, "AR10": v}
            for (loss, seed), v in values.items()]


def test_summarize_winner_lead_and_noise():
    results = _results({("huber", 0): .40, ("huber", 1): .40,
                        ("huber", 2): .60,
                        ("smooth_iou", 0): .50, ("smooth_iou", 1): .51,
                        ("smooth_iou", 2): .72})
    summary = summarize(results, ["huber", "smooth_iou"])
    row = summary["metrics"]["AP50"]["huber"]
    assert row["mean"] == pytest.approx(1.4 / 3)
    assert row["std"] == pytest.approx(math.sqrt(0.04 / 3))  # sample std: 0.08/3 / 2
    winner = summary["winners"]["AP50"]
    assert winner["loss"] == "smooth_iou" and winner["runner_up"] == "huber"
    assert winner["lead"] == pytest.approx(0.11)
    assert winner["exceeds_noise"] is True


def test_summarize_tie_has_no_winner_and_markdown_says_so():
    results = _results({("huber", 0): .3, ("giou", 0): .3})
    summary = summarize(results, ["huber", "giou"])
    assert summary["winners"]["AP"]["loss"] is None
    text = format_markdown(summary, ["huber", "giou"], "tie")
    assert "**" not in text
    assert "| mAP@[.5:.95] | tie | giou | +0.000 | - | n/a (1 seed) |" in text


def test_markdown_bolds_the_winner_per_metric():
    results = _results({("huber", 0): .2, ("huber", 1): .3,
                        ("ciou", 0): .4, ("ciou", 1): .5})
    text = format_markdown(summarize(results, ["huber", "ciou"]),
                           ["huber", "ciou"])
    ciou_row = next(line for line in text.splitlines()
                    if line.startswith("| ciou |"))
    assert ciou_row.count("**0.450 ± 0.071**") == 7
    assert "mean IoU (T2)" in text and "AR@10 (T3)" in text
