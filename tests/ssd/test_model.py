import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_boxloss.data.pipeline import make_dataset
from keras_boxloss.losses.registry import BOX_LOSSES, get_box_loss
from keras_boxloss.ssd.model import SSD


def tiny_ssd(box_loss="huber", **kwargs):
    return SSD(3, image_size=64, backbone="tiny", backbone_alpha=0.5,
               num_layers=3, box_loss=get_box_loss(box_loss), **kwargs)


@pytest.fixture(scope="module")
def batch(generated):
    dataset = make_dataset(generated["train"], batch_size=4,
                           image_size=(64, 64), as_tuple=True, max_boxes=8)
    return next(iter(dataset))


def test_outputs_line_up_with_the_default_boxes():
    model = tiny_ssd()
    assert model.outputs[0].shape[1:] == (len(model.anchors), 4 + 3 + 1)


def test_xla_compiled_loss_equals_eager(batch):
    model = tiny_ssd()
    images, truth = batch

    def loss(images, truth):
        return model.compute_loss(y=truth, y_pred=model(images))

    eager = float(loss(images, truth))
    compiled = float(tf.function(loss, jit_compile=True)(images, truth))
    assert eager > 0
    assert compiled == pytest.approx(eager, rel=1e-5)


# One of each kind in the default run (Huber, the IoU family with and
# without the lane gradient, Smooth IoU's lambda, NWD's scaled constant,
# WIoU's state, Balanced L1): 10-18 s each on 2 cores, and
# tests/losses/test_per_box_contract.py puts every loss through MultiBox.
TRAIN_STEP_DEFAULT = ("huber", "giou", "ciou", "smooth_iou", "nwd", "wiou",
                      "balanced_l1")


@pytest.mark.parametrize("box_loss", [
    name if name in TRAIN_STEP_DEFAULT
    else pytest.param(name, marks=pytest.mark.slow)
    for name in sorted(BOX_LOSSES)])
def test_train_step_with_each_box_loss(batch, box_loss):
    # Eager-graph (no XLA) to keep the suite fast: XLA compiles for ~20 s on
    # CPU; `test_xla_compiled_loss_equals_eager` covers the compiled path.
    model = tiny_ssd(box_loss)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    images, truth = batch
    before = [w.numpy().copy() for w in model.trainable_weights]
    logs = model.train_on_batch(images, truth, return_dict=True)
    assert np.isfinite(logs["loss"]) and logs["loss"] > 0
    after = model.trainable_weights
    # gradients reached the box heads: finite, and the heads of the layers
    # holding matched anchors moved (a layer without matches gets none)
    heads = [i for i, w in enumerate(after) if "box_head" in w.path]
    assert heads
    moved = [not np.allclose(after[i].numpy(), before[i]) for i in heads]
    assert all(np.all(np.isfinite(after[i].numpy())) for i in heads)
    assert any(moved)


def test_decode_returns_normalised_boxes_and_scores(batch):
    model = tiny_ssd()
    boxes, scores = model.decode(model(batch[0]))
    assert boxes.shape == (4, len(model.anchors), 4)
    assert scores.shape == (4, len(model.anchors), 3)
    boxes = np.asarray(boxes)
    assert boxes.min() >= 0 and boxes.max() <= 1
    np.testing.assert_array_less(np.asarray(scores), 1.0 + 1e-6)


TWO_REPLICAS = """
import sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from keras_boxloss.ssd.model import SSD
from keras_boxloss.data.pipeline import make_dataset

keras.utils.set_random_seed(0)
model = SSD(3, image_size=64, backbone="tiny", backbone_alpha=0.5,
            num_layers=3)
images, truth = next(iter(make_dataset(sys.argv[1], batch_size=4,
                                       image_size=(64, 64), as_tuple=True,
                                       max_boxes=8)))
# Skew the positives: image 0 keeps its boxes, the others keep one each,
# so per-replica normalisers differ from the global one.
classes = truth["classes"].numpy()
classes[1:, 1:] = -1
truth = {"boxes": truth["boxes"], "classes": tf.constant(classes)}
y_pred = tf.random.stateless_normal(
    (4, len(model.anchors), 8), seed=(1, 2))
single = float(model.compute_loss(y=truth, y_pred=y_pred))
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2
dataset = tf.data.Dataset.from_tensor_slices((truth, y_pred)).batch(4)
dist = strategy.experimental_distribute_dataset(dataset)
truth_d, pred_d = next(iter(dist))
per_replica = strategy.run(
    lambda t, p: model.compute_loss(y=t, y_pred=p), args=(truth_d, pred_d))
both = float(strategy.reduce("SUM", per_replica, axis=None))
print(single, both)
"""


def test_two_replicas_normalise_by_the_global_positive_count(generated):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", TWO_REPLICAS,
                          generated["train"]], capture_output=True,
                         text=True, check=True).stdout.split()
    single, both = float(out[-2]), float(out[-1])
    assert single > 0
    assert both == pytest.approx(single, rel=1e-5)


def test_backbone_weights_load_from_a_local_file(tmp_path):
    backbone = keras.applications.MobileNetV2(
        input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None)
    path = tmp_path / "mobilenet_v2.weights.h5"
    backbone.save_weights(path)
    model = SSD(3, image_size=96, backbone="mobilenet_v2", backbone_alpha=0.35,
                num_layers=3, backbone_weights=str(path))
    loaded = model.get_layer("Conv1").get_weights()[0]
    np.testing.assert_array_equal(loaded, backbone.get_layer(
        "Conv1").get_weights()[0])
    with pytest.raises(ValueError, match="backbone_weights"):
        SSD(3, image_size=64, backbone="tiny", backbone_weights=str(path))


def test_kerascv_mobilenet_v3_backbone_builds_offline():
    model = SSD(3, image_size=96, backbone="mobilenet_v3_small",
                num_layers=3)
    assert model.outputs[0].shape[1:] == (len(model.anchors), 8)
    # P4 and P5 of 96 px are 6 x 6 and 3 x 3, the extra layer 2 x 2:
    # 36 * 3 (reduced lowest layer) + 9 * 6 + 4 * 6 default boxes
    assert len(model.anchors) == 36 * 3 + 9 * 6 + 4 * 6
