"""Training a detector from a config: data, model, optimizer, checkpoints,
resume.

`model_dir` gets `config.yaml` (the resolved config), `model.weights.h5`
(weights after every epoch and at the end), `model.keras` (the whole
detector at the end, `keras_model`), `logs/` (TensorBoard; validation
metrics and images in `logs/validation`), `best/` (the checkpoint of the
best validation evaluation, `validation`) and, while
a run is unfinished, `backup/`: Keras' `BackupAndRestore` state, from which a
restarted run continues at the epoch after the last one completed, with the
batches that an uninterrupted run would have seen there. A finished run
gets `training_done.json`; calling `train` on it again does nothing, or,
with a larger `trainer.steps`, continues it (`run_state`).
"""

import contextlib
from pathlib import Path

import keras

from keras_boxloss.losses.registry import get_normalized_box_loss
from keras_boxloss.training.config import load_config
from keras_boxloss.training.run_state import CONFIG, WEIGHTS


def build_model(config):
    """The (untrained) detector a config describes."""
    m, loss = config.model, config.loss
    if config.detector == "yolo_v1":
        from keras_boxloss.yolo.model import YOLOv1Detector

        return YOLOv1Detector(
            m.num_classes, grid_size=m.grid_size,
            boxes_per_cell=m.boxes_per_cell, image_size=m.image_size,
            backbone=m.backbone, backbone_alpha=m.backbone_alpha,
            backbone_weights=m.backbone_weights or None,
            # boxes normalised to [0, 1]: pixel-length defaults scaled
            box_loss=(get_normalized_box_loss(
                loss.box_loss, m.image_size, **loss.box_loss_params)
                if loss.box_loss else None),
            lambda_coord=loss.lambda_coord, lambda_noobj=loss.lambda_noobj,
            confidence_target=loss.confidence_target)
    from keras_boxloss.ssd.model import SSD

    anchor_kwargs = {
        "min_scale": m.min_scale, "max_scale": m.max_scale,
        "aspect_ratios": tuple(m.aspect_ratios),
        "reduce_boxes_in_lowest_layer": m.reduce_boxes_in_lowest_layer,
        "interpolated_scale_aspect_ratio": m.interpolated_scale_aspect_ratio,
    }
    return SSD(
        m.num_classes, image_size=m.image_size, backbone=m.backbone,
        backbone_alpha=m.backbone_alpha, num_layers=m.num_layers,
        box_loss=get_normalized_box_loss(loss.box_loss or "huber",
                                         m.image_size,
                                         **loss.box_loss_params),
        classification=loss.classification,
        neg_pos_ratio=loss.neg_pos_ratio,
        min_negatives_per_image=loss.min_negatives_per_image,
        alpha=loss.alpha, matched_threshold=loss.matched_threshold,
        unmatched_threshold=loss.unmatched_threshold,
        anchor_kwargs=anchor_kwargs,
        backbone_weights=m.backbone_weights or None,
        focal_alpha=loss.focal_alpha, focal_gamma=loss.focal_gamma)


def load_fine_tune_checkpoint(model, config):
    """Starts `model` from `trainer.fine_tune_checkpoint`: Keras weights of
    this same detector (a `.weights.h5` file, or a `train` output folder).
    A missing file or mismatched weights are errors naming the field."""
    path = Path(config.trainer.fine_tune_checkpoint)
    if path.is_dir():
        path = path / WEIGHTS
    if not path.is_file():
        raise ValueError(
            "Expected trainer.fine_tune_checkpoint to be a Keras weights "
            "file of this detector (.weights.h5) or a train output folder. "
            f"Received: fine_tune_checkpoint={str(path)!r}, which does not "
            "exist")
    try:
        model.load_weights(path)
    except ValueError as error:
        raise ValueError(
            "Expected trainer.fine_tune_checkpoint to hold the weights of "
            "the same detector (backbone, layers, num_classes). Received: "
            f"fine_tune_checkpoint={str(path)!r}: {error}") from None


def build_learning_rate(o):
    """The learning rate or schedule of an `OptimizerConfig`."""
    from keras_boxloss.training import schedules

    if o.schedule == "manual_step":
        return schedules.ManualStep(o.learning_rate, o.boundaries, o.rates,
                                    o.warmup)
    if o.schedule == "cosine":
        return schedules.CosineWithWarmup(
            o.learning_rate, o.total_steps, o.warmup_learning_rate,
            o.warmup_steps, o.hold_base_rate_steps)
    if o.schedule == "exponential":
        return schedules.ExponentialWithBurnin(
            o.learning_rate, o.decay_steps, o.decay_rate, o.staircase,
            o.warmup_learning_rate, o.warmup_steps, o.min_learning_rate)
    if o.decay_rate != 1.0:
        return keras.optimizers.schedules.ExponentialDecay(
            o.learning_rate, o.decay_steps, o.decay_rate, staircase=True)
    return o.learning_rate


def build_optimizer(config):
    o = config.optimizer
    learning_rate = build_learning_rate(o)
    # Clipping by the global norm, as the TF OD API's
    # gradient_clipping_by_norm (tf.clip_by_global_norm).
    clip = {"global_clipnorm": o.global_clipnorm} if o.global_clipnorm else {}
    if o.type == "rmsprop":  # the TF OD API's RMSProp: rho = its "decay"
        return keras.optimizers.RMSprop(learning_rate, rho=o.rho,
                                        momentum=o.momentum,
                                        epsilon=o.epsilon, **clip)
    if o.type == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=o.momentum,
                                    **clip)
    return keras.optimizers.Adam(learning_rate, epsilon=o.epsilon, **clip)


def resolve_data(config):
    """Train and validation globs; the generated dataset when none given
    (`keras_boxloss.data.resolve`, the resolver of the CLI and compare)."""
    from keras_boxloss.data.resolve import resolve_records

    if config.data.train:
        return config.data.train, config.data.validation
    # the pipeline resizes the generated images to the model's size
    train, _ = resolve_records(None, "train")
    if config.data.validation:
        return train, config.data.validation
    return train, resolve_records(None, "val")[0]


def make_inputs(config, pattern, training, skip_batches=0):
    from keras_boxloss.data.pipeline import make_dataset

    size = config.model.image_size
    return make_dataset(
        pattern, batch_size=config.data.batch_size, image_size=(size, size),
        resize_mode=config.data.resize_mode,
        augment=training and config.data.augment, seed=config.trainer.seed,
        shuffle_buffer=config.data.shuffle_buffer if training else 0,
        repeat=training, max_boxes=config.data.max_boxes, as_tuple=True,
        drop_remainder=training, skip_batches=skip_batches)


def distribution_scope(name):
    """`tf.distribute` scope for the configured strategy."""
    if name == "default":
        return contextlib.nullcontext()
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy().scope()
    return tf.distribute.MultiWorkerMirroredStrategy().scope()


@contextlib.contextmanager
def dtype_policy(name: str):
    """Keras' global dtype policy `name` ("" = float32) while models are
    built in the block, then the previous one again: layers keep the policy
    they were built with, and other models in the process must not get it.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name or "float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def train(config, model_dir, verbose=1, callbacks=(), overwrite=False):
    """Trains, resumes or continues the configured detector in `model_dir`
    (see `run_state.plan_run`: a different config or fewer steps than done
    is a `ValueError` before any file is written; `overwrite` starts again).

    Returns `(model, history)`; `history` is None when the run there was
    already complete (the model then has its final weights).
    """
    from keras_boxloss.training import run_state
    from keras_boxloss.training.guards import StopAtStep, StopOnNaN

    model_dir = Path(model_dir)
    plan = run_state.plan_run(config, model_dir, overwrite)
    if plan.complete:
        model = build_model(config)
        model.load_weights(model_dir / WEIGHTS)
        return model, None
    # one pass over the labels: readable, in the label map, num_classes
    run_state.check_training_data(config)  # before anything is written
    validation = validation_callback(config, model_dir, plan, verbose)
    run_state.apply_plan(plan, config)  # every check passed: write now
    from keras_boxloss.training.determinism import make_deterministic

    make_deterministic(config.trainer.seed)  # seeds, op determinism, threads
    train_pattern, _ = resolve_data(config)
    per_epoch = config.trainer.steps_per_epoch
    mixed = config.trainer.mixed_precision
    with distribution_scope(config.trainer.distribution):
        # Variables stay float32 under the mixed policies, so the weights
        # load into (and evaluate/export build) float32 models unchanged.
        with dtype_policy(mixed):
            model = build_model(config)
        if config.trainer.fine_tune_checkpoint:  # a resume overwrites it
            load_fine_tune_checkpoint(model, config)
        optimizer = build_optimizer(config)
        if mixed == "mixed_float16":  # float16 gradients underflow unscaled
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        model.compile(optimizer=optimizer,
                      jit_compile=config.trainer.jit_compile)
        if plan.from_final:  # a finished run continued: weights + optimizer
            model.optimizer.build(model.trainable_variables)
            model.load_weights(model_dir / WEIGHTS)
    # The last epoch is shorter when steps is not a multiple (StopAtStep).
    epochs = -(-config.trainer.steps // per_epoch)
    # `fit` restarts the dataset; without the skip a resumed run would see
    # the first epochs' batches again, and its data order would differ from
    # an uninterrupted run's (a compare pairs runs by their data order).
    import tensorflow as tf

    try:
        history = model.fit(
            make_inputs(config, train_pattern, training=True,
                        skip_batches=plan.start_step),
            steps_per_epoch=per_epoch, epochs=epochs,
            initial_epoch=plan.start_step // per_epoch,
            verbose=verbose, shuffle=False,  # the dataset shuffles, seeded
            callbacks=[
                # first: it raises before the checkpoints save a NaN epoch
                StopOnNaN(per_epoch, model_dir),
                StopAtStep(config.trainer.steps, per_epoch),
                *([validation] if validation else []),
                # kept until the run is marked finished (finish_run)
                keras.callbacks.BackupAndRestore(str(model_dir / "backup"),
                                                 delete_checkpoint=False),
                keras.callbacks.ModelCheckpoint(str(model_dir / WEIGHTS),
                                                save_weights_only=True),
                keras.callbacks.TensorBoard(str(model_dir / "logs")),
                *callbacks,
            ])
    except tf.errors.DataLossError as error:
        raise ValueError(f"Expected readable TFRecords in {train_pattern}. "
                         f"Received: {error.message}") from None
    # Whole or absent: written beside, then moved over the epoch's copy.
    partial = model_dir / ("partial." + WEIGHTS)
    model.save_weights(partial)
    partial.replace(model_dir / WEIGHTS)
    from keras_boxloss.training.keras_model import save_keras_model

    save_keras_model(model, model_dir)  # before the finished marker
    run_state.finish_run(model_dir, config.trainer.steps,
                         validation.stopped_at if validation else None)
    return model, history


def validation_callback(config, model_dir, plan, verbose):
    """The `Validation` callback of the run (it reads and checks the
    validation records now), or None: `trainer.eval_every_steps` -1, or
    no validation split (said on the console; `check_config` refuses an
    explicit `eval_every_steps` or early stopping without one)."""
    from keras_boxloss.training.validation import (Validation,
                                                   validation_data)

    if config.trainer.eval_every_steps == -1:
        return None
    found = validation_data(config)
    if found is None:
        if verbose:
            print("No validation while training: the config names no "
                  "data.validation records (no best/ checkpoint, no "
                  "validation metrics in TensorBoard).", flush=True)
        return None
    return Validation(config, model_dir, *found, start_step=plan.start_step,
                      verbose=verbose)


CHECKPOINTS = ("last", "best")


def checkpoint_dir(model_dir, checkpoint: str = "last") -> Path:
    """The folder of a `train` run's checkpoint: `model_dir` itself
    ("last", the final or latest weights) or `model_dir/best` ("best", the
    best validation evaluation's: `training.validation`)."""
    from keras_boxloss.training.validation import BEST

    if checkpoint not in CHECKPOINTS:
        raise ValueError(f"Expected checkpoint to be one of "
                         f"{list(CHECKPOINTS)}. Received: "
                         f"checkpoint={checkpoint!r}")
    model_dir = Path(model_dir)
    if checkpoint == "last":
        return model_dir
    if not (model_dir / BEST / WEIGHTS).exists():
        raise ValueError(
            f"Expected a best checkpoint {model_dir / BEST}, which `train` "
            f"keeps when it evaluates on a validation split "
            f"(trainer.eval_every_steps >= 0 and data.validation). "
            f"Received: {model_dir} has none; use the last checkpoint")
    return model_dir / BEST


def load_trained(model_dir, checkpoint: str = "last"):
    """The config and the trained model of a `train` run, with the weights
    of its `checkpoint` ("last" or "best", see `checkpoint_dir`)."""
    model_dir = checkpoint_dir(model_dir, checkpoint)
    if not (model_dir / WEIGHTS).exists():
        raise ValueError(f"No trained detector in {model_dir}: expected "
                         f"{model_dir / WEIGHTS} written by `train`.")
    config = load_config(model_dir / CONFIG)
    model = build_model(config)
    model.load_weights(model_dir / WEIGHTS)
    return config, model
