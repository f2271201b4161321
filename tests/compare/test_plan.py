import pytest

from keras_boxloss.compare.plan import Run, parse_losses, parse_seeds, plan_runs


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
