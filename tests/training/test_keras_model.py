"""`train` writes model.keras: the whole detector, loadable after
`import keras_boxloss`, rewritten when a run is continued."""

import keras
import numpy as np

from keras_boxloss.training import run_state
from keras_boxloss.training.config import load_config
from keras_boxloss.training.train import load_trained, train
from tests.keras_saving import as_json, load_in_fresh_process


def config_for(generated, steps):
    return load_config(None, [
        f"data.train={generated['train']}",
        f"data.validation={generated['val']}", "model.image_size=64",
        "model.num_layers=3", "data.batch_size=4", "data.max_boxes=8",
        f"trainer.steps={steps}", "trainer.steps_per_epoch=2",
        "trainer.jit_compile=false", "trainer.eval_every_steps=-1",
        "loss.box_loss=smooth_iou",
        "loss.box_loss_params.delta=0.5"])


def test_model_keras_holds_the_run_and_follows_a_continued_run(generated,
                                                               tmp_path):
    run = tmp_path / "run"
    train(config_for(generated, 2), run, verbose=0)
    assert not (run / ("partial." + run_state.KERAS_MODEL)).exists()
    first = keras.saving.load_model(run / run_state.KERAS_MODEL)
    assert int(first.optimizer.iterations) == 2

    # continued to 4 steps: model.keras is rewritten with the new weights
    train(config_for(generated, 4), run, verbose=0)
    _, trained = load_trained(run)
    images = np.random.default_rng(0).uniform(
        0, 255, (2, 64, 64, 3)).astype("float32")
    (tmp_path / "fresh").mkdir()
    predictions, facts = load_in_fresh_process(
        run / run_state.KERAS_MODEL, images, tmp_path / "fresh")
    # the raw head outputs: `trained.predict` returns detections
    np.testing.assert_allclose(
        predictions, keras.Model.predict(trained, images, verbose=0),
        atol=1e-6)
    assert facts["iterations"] == 4
    saved = {k: v for k, v in facts["config"].items() if k != "name"}
    assert saved == as_json({k: v for k, v in trained.get_config().items()
                             if k != "name"})  # names are per process
    box_loss = facts["loss"]["config"]["box_loss"]
    assert (box_loss["class_name"], box_loss["config"]["delta"]) == (
        "SmoothIoU", 0.5)

    # --overwrite removes it with the rest of the run
    plan = run_state.plan_run(config_for(generated, 4), run, overwrite=True)
    assert run / run_state.KERAS_MODEL in plan.remove
