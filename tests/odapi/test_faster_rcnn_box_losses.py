"""The Faster R-CNN import's box-loss overrides accept every registered
loss (the registry, not a list of names; an unknown name is refused earlier,
by the pipeline's override parser)."""

from keras_boxloss.losses.registry import BOX_LOSSES
from tests.odapi.test_faster_rcnn import PETS_RECORDS, get, imported, place


def test_any_registered_loss_is_accepted(tmp_path):
    path = place(tmp_path, "faster_rcnn_inception_v2_pets.config",
                 records=PETS_RECORDS)
    assert {"nwd", "wiou", "balanced_l1"} <= set(BOX_LOSSES)
    mapping, _ = imported(path, [
        "model.faster_rcnn.first_stage_localization_loss=balanced_l1",
        "model.faster_rcnn.second_stage_localization_loss=nwd"])
    assert get(mapping.overrides, "task.rpn_box_loss.type") == "balanced_l1"
    assert get(mapping.overrides, "task.frcnn_box_loss.type") == "nwd"
