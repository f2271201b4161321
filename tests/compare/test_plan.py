import pytest

from keras_boxloss.compare.plan import (Run, curve_point, parse_losses,
                                        parse_seeds, plan_runs,
                                        train_seconds_at, with_point)


def test_parse_losses_keeps_order():
    assert parse_losses("smooth_iou, huber,ciou") == ["smooth_iou", "huber",
                                                      "ciou"]


@pytest.mark.parametrize("text", ["", "huber,smoth_iou", "huber,huber",
                                  "multibox"])
def test_parse_losses_rejects_unknown_empty_and_repeated(text):
    with pytest.raises(ValueError, match="losses="):
        parse_losses(text)


@pytest.mark.parametrize("text,seeds", [("3", [0, 1, 2]), ("1", [0]),
                                        ("4,7", [4, 7])])
def test_parse_seeds_count_or_list(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["0", "-1", "1,1", "a", "2,-3"])
def test_parse_seeds_rejects(text):
    with pytest.raises(ValueError, match="seeds="):
        parse_seeds(text)


def test_runs_are_seed_major_in_their_own_folders(tmp_path):
    runs = plan_runs(["huber", "giou"], [0, 1])
    assert runs == [Run("huber", 0), Run("giou", 0), Run("huber", 1),
                    Run("giou", 1)]
    folder = runs[1].folder(str(tmp_path))
    assert folder.endswith("runs/giou-seed0")
    assert not runs[1].is_done(str(tmp_path))


def test_curve_point_names_the_validation_metrics_settling_reads():
    metrics = {"mean_iou_every_prediction": 0.4, "AP": 0.2, "AP50": 0.5,
               "AR10": 0.3}
    point = curve_point(300, metrics, loss=1.5, box_loss=0.25)
    assert point == {"step": 300, "loss": 1.5, "box_loss": 0.25,
                     "val_mean_iou": 0.4, "val_AP": 0.2, "val_AP50": 0.5}


def test_with_point_replaces_points_a_resumed_run_evaluates_again():
    points = [{"step": 100, "v": 1}, {"step": 200, "v": 2},
              {"step": 300, "v": 3}]
    assert with_point(points, {"step": 200, "v": 9}) == [
        {"step": 100, "v": 1}, {"step": 200, "v": 9}]
    assert with_point(points, {"step": 400, "v": 4}) == points + [
        {"step": 400, "v": 4}]
    assert with_point([], {"step": 50}) == [{"step": 50}]


def test_train_seconds_add_to_those_of_the_last_earlier_point():
    points = [{"step": 100, "train_seconds": 60.0},
              {"step": 200, "train_seconds": 130.0}]
    assert train_seconds_at(points, 200, 5.0) == 65.0
    assert train_seconds_at(points, 300, 5.0) == 135.0
    assert train_seconds_at(points, 100, 5.0) == 5.0
    assert train_seconds_at([], 100, 5.0) == 5.0
    # a point written before the time was recorded: unknown, not 5
    assert train_seconds_at([{"step": 100}], 200, 5.0) is None


def test_parse_losses_all_is_every_registered_box_loss():
    from keras_boxloss.losses.registry import BOX_LOSSES

    assert parse_losses("all") == list(BOX_LOSSES)
    assert {"huber", "smooth_iou", "eiou", "wiou", "nwd"} <= set(
        parse_losses(" all "))
