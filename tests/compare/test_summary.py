"""Aggregation checked against values worked out by hand, the p-values
and intervals from the t statistic with scipy's t distribution."""

import math

import pytest
from scipy import stats

from keras_boxloss.compare import summary as summary_lib
from keras_boxloss.compare.summary import (format_markdown, mean_std,
                                           paired_test, summarize)


def test_mean_and_sample_std():
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert mean_std([0.5]) == (0.5, 0.0)


def test_the_hand_coded_t_table_is_gone():
    assert not hasattr(summary_lib, "T_CRITICAL")
    assert not hasattr(summary_lib, "t_critical")


def test_paired_test_by_hand():
    # differences 0.1, 0.2, 0.1: mean 2/15, sd 1/sqrt(300), t = 4.0; with
    # 2 df, p = 2 * P(T > 4) = 1 - 4 / sqrt(18) (Student's t, 2 df, has
    # P(T > t) = (1 - t / sqrt(t^2 + 2)) / 2): 0.0572 > 0.05
    test = paired_test({0: .5, 1: .6, 2: .7}, {0: .4, 1: .4, 2: .6})
    assert test["lead"] == pytest.approx(2 / 15) and test["n"] == 3
    assert test["t"] == pytest.approx(4.0)
    assert test["p"] == pytest.approx(1 - 4 / math.sqrt(18))
    assert test["p"] == pytest.approx(0.057191, abs=1e-6)
    # the interval: mean +- t_0.975(2) * sd / sqrt(3), t_0.975(2) = 4.3027
    half = 4.302653 * (1 / math.sqrt(300)) / math.sqrt(3)
    assert test["ci"] == pytest.approx([2 / 15 - half, 2 / 15 + half])
    assert test["ci"][0] < 0 < test["ci"][1]  # p > 0.05: it holds 0
    assert test["exceeds_noise"] is False
    # differences 0.10, 0.11, 0.12: t = 0.11 / (0.01 / sqrt 3) = 19.05
    test = paired_test({0: .5, 1: .61, 2: .72}, {0: .4, 1: .5, 2: .6})
    t = 0.11 / (0.01 / math.sqrt(3))
    assert test["t"] == pytest.approx(t)
    assert test["p"] == pytest.approx(2 * stats.t.sf(t, 2))
    assert test["p"] == pytest.approx(1 - t / math.sqrt(t * t + 2))
    assert test["exceeds_noise"] is True


def test_p_value_with_more_seeds_and_a_negative_lead():
    # differences -1, -2, -3, -4, -5 (seeds 0..4): mean -3, sd sqrt(2.5),
    # t = -3 / sqrt(0.5) = -4.243, 4 df
    a = {s: 10.0 - (s + 1) for s in range(5)}
    b = {s: 10.0 for s in range(5)}
    test = paired_test(a, b)
    t = -3 / math.sqrt(0.5)
    assert test["t"] == pytest.approx(t) and test["n"] == 5
    assert test["p"] == pytest.approx(2 * stats.t.sf(abs(t), 4))
    assert test["p"] == pytest.approx(0.013236, abs=1e-6)
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)  # t_0.975(4) = 2.7764
    assert test["ci"] == pytest.approx([-3 - half, -3 + half])
    assert test["exceeds_noise"] is True


def test_two_seeds_give_numbers_but_no_verdict():
    # differences 0.10 and 0.11: t = 0.105 / (0.005 / sqrt 2) ... exactly
    # sd = 0.01 / sqrt 2, t = 0.105 / 0.005 = 21 > 12.706 (p < 0.05), as in
    # the run that claimed a verdict from t = 15.3 on 2 seeds
    test = paired_test({0: .5, 1: .61}, {0: .4, 1: .5})
    assert test["t"] == pytest.approx(21.0)
    assert test["p"] == pytest.approx(2 * stats.t.sf(21.0, 1))
    assert test["p"] < 0.05
    half = 12.706205 * 0.005
    assert test["ci"] == pytest.approx([0.105 - half, 0.105 + half])
    assert test["exceeds_noise"] is None


def test_constant_difference_is_certain_and_no_difference_is_not():
    test = paired_test({0: 1.0, 1: 2.0, 2: 3.0}, {0: 0.5, 1: 1.5, 2: 2.5})
    assert test["t"] == math.inf and test["p"] == 0.0
    assert test["ci"] == [0.5, 0.5] and test["exceeds_noise"] is True
    test = paired_test({0: 1.0, 1: 2.0, 2: 3.0}, {0: 1.0, 1: 2.0, 2: 3.0})
    assert test["t"] == 0.0 and test["p"] == 1.0
    assert test["exceeds_noise"] is False


def test_paired_test_compares_common_seeds_only_and_one_seed_is_open():
    test = paired_test({0: .5, 5: .9}, {0: .4, 1: .0})
    assert test["lead"] == pytest.approx(0.1) and test["n"] == 1
    assert test["t"] is None and test["p"] is None and test["ci"] is None
    assert test["exceeds_noise"] is None
    assert paired_test({0: .5}, {1: .4})["lead"] is None


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
    # differences 0.10, 0.11, 0.12, as in test_paired_test_by_hand
    t = 0.11 / (0.01 / math.sqrt(3))
    assert winner["t"] == pytest.approx(t) and winner["n"] == 3
    assert winner["p"] == pytest.approx(2 * stats.t.sf(t, 2))
    assert winner["exceeds_noise"] is True
    assert winner["versus"]["huber"]["p"] == winner["p"]
    text = format_markdown(summary, ["huber", "smooth_iou"])
    half = 4.302653 * 0.01 / math.sqrt(3)
    assert (f"| mAP@.5 | smooth_iou | huber | +0.110 | [{0.11 - half:+.3f}, "
            f"{0.11 + half:+.3f}] | {t:.2f} | {2 * stats.t.sf(t, 2):.3f} | "
            f"yes |") in text
    assert "Two seeds give no verdict" not in text


def test_summarize_tie_has_no_winner_and_markdown_says_so():
    results = _results({("huber", 0): .3, ("giou", 0): .3})
    summary = summarize(results, ["huber", "giou"])
    assert summary["winners"]["AP"]["loss"] is None
    text = format_markdown(summary, ["huber", "giou"], "tie")
    assert "**" not in text
    assert ("| mAP@[.5:.95] | tie | giou | +0.000 | - | - | - | "
            "n/a (1 seed) |") in text


def test_markdown_bolds_the_winner_per_metric():
    results = _results({("huber", 0): .2, ("huber", 1): .3,
                        ("ciou", 0): .4, ("ciou", 1): .5})
    text = format_markdown(summarize(results, ["huber", "ciou"]),
                           ["huber", "ciou"])
    ciou_row = next(line for line in text.splitlines()
                    if line.startswith("| ciou |"))
    assert ciou_row.count("**0.450 ± 0.071**") == 7
    assert "mean IoU (T2)" in text and "AR@10 (T3)" in text


def test_one_loss_has_its_table_and_no_empty_ranking():
    # a chosen-weight folder holds one loss; the leaderboard pairs it
    results = _results({("huber", 0): .2, ("huber", 1): .3})
    text = format_markdown(summarize(results, ["huber"]), ["huber"])
    assert "| huber | 0.250 ± 0.071 |" in text
    assert "| metric |" not in text and "Winner" not in text
    assert text.endswith("Mean ± std over 2 seed(s).\n")


def test_two_seeds_table_says_undecided_with_a_note():
    # ciou - huber: 0.2 on both seeds (constant: t inf), yet no verdict
    results = _results({("huber", 0): .2, ("huber", 1): .3,
                        ("ciou", 0): .4, ("ciou", 1): .5})
    summary = summarize(results, ["huber", "ciou"])
    assert summary["winners"]["AP50"]["exceeds_noise"] is None
    text = format_markdown(summary, ["huber", "ciou"])
    assert ("| mAP@.5 | ciou | huber | +0.200 | [+0.200, +0.200] | inf | "
            "< 0.001 | undecided (2 seeds) |") in text
    assert "Two seeds give no verdict" in text and "--seeds 3" in text
    assert "| yes |" not in text
