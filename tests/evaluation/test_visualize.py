import numpy as np
from PIL import Image

from keras_boxloss.data.generated import generate_records
from keras_boxloss.evaluation.visualize import (GROUND_TRUTH_COLOUR,
                                                PREDICTION_COLOUR,
                                                draw_detections,
                                                save_visualizations)


def test_draws_truth_and_confident_predictions_only():
    image = np.full((100, 100, 3), 255, np.uint8)
    drawn = np.asarray(draw_detections(
        image, [[0.1, 0.1, 0.5, 0.5]], [1],
        [[0.6, 0.6, 0.9, 0.9], [0.2, 0.7, 0.4, 0.8]], [0.9, 0.1], [1, 1],
        label_map={1: "cat"}, score_threshold=0.3))
    assert tuple(drawn[30, 10]) == GROUND_TRUTH_COLOUR  # left edge of truth
    assert tuple(drawn[75, 60]) == PREDICTION_COLOUR  # left edge, score 0.9
    assert tuple(drawn[30, 70]) == (255, 255, 255)  # score 0.1: not drawn
    assert tuple(drawn[75, 75]) == (255, 255, 255)  # inside stays clear


def test_save_writes_n_pngs(tmp_path):
    records = generate_records(3, seed=0)
    paths = save_visualizations(records, [], tmp_path / "vis", 2)
    assert len(paths) == 2
    assert Image.open(paths[0]).size == (128, 128)
    assert paths[0].endswith("1_generated_00001.png")
