"""`train` honours `data.label_map`: records whose class/text disagrees with
their class/label and the label map are refused before anything is
written."""

import pytest

from keras_boxloss.training.config import load_config
from keras_boxloss.training.train import train
from tests.data.tutorial_records import (LABEL_MAP_TEXT, SHAPE_NAMES,
                                         tutorial_example)


def test_text_disagreeing_with_the_label_map_stops_training(tmp_path):
    import numpy as np
    import tensorflow as tf

    from keras_boxloss.data.generated import generate_image

    rng = np.random.default_rng(0)
    with tf.io.TFRecordWriter(str(tmp_path / "train.record")) as writer:
        for n in range(3):
            pixels, boxes, classes = generate_image(rng, 64)
            example = tutorial_example(
                pixels, boxes, [SHAPE_NAMES[int(c)] for c in classes],
                f"img_{n}.jpg")
            if n == 2:  # the user's script mapped texts to other ids
                texts = example.features.feature[
                    "image/object/class/text"].bytes_list.value
                texts[0] = b"not-a-class"
            writer.write(example.SerializeToString())
    (tmp_path / "label_map.pbtxt").write_text(LABEL_MAP_TEXT)
    config = load_config(None, [
        f"data.train={tmp_path / 'train.record'}",
        f"data.label_map={tmp_path / 'label_map.pbtxt'}",
        "model.num_classes=9", "model.image_size=64"])
    with pytest.raises(ValueError, match=r"label_map.pbtxt. Received: label "
                       r"\d \('\w+' there\) with text 'not-a-class' in "
                       r".*train.record record 2 object 0"):
        train(config, tmp_path / "run", verbose=0)
    assert not (tmp_path / "run" / "config.yaml").exists()
