"""Detections on image files, from a `train` run or an exported SavedModel,
written as `predictions.json` and the images with their boxes drawn.

A run's model sees each image resized as its data pipeline resizes
(`data.resize_mode`, `pipeline.resize`), and its boxes are mapped back to
the whole image (`pipeline.to_original_boxes`), so they are in the
original image's pixels whatever its size. A SavedModel of `keras-boxloss
export` resizes in its serving signature and returns boxes normalised to
its input image already.
"""

import json
import os
from pathlib import Path

import numpy as np

from keras_boxloss.inference.images import read_image

PREDICTIONS = "predictions.json"


def canvas(image, image_size: int, resize_mode: str):
    """`(float32 [S, S, 3] canvas, valid_size [2])`: `image` resized as
    `make_dataset` resizes a record's."""
    import tensorflow as tf

    from keras_boxloss.data.pipeline import resize

    resized, _, valid = resize(tf.convert_to_tensor(image),
                               tf.zeros([0, 4]), (image_size, image_size),
                               resize_mode)
    return resized, valid


def run_model_detections(model, config, paths, batch_size: int = 8,
                         **nms_kwargs):
    """Yields `(path, image, detections)` per image: `detections` the TF OD
    API dict of one image (numpy, boxes normalised yxyx of the whole
    image), computed as evaluation computes them
    (`training.predict.detect`)."""
    import tensorflow as tf

    from keras_boxloss.data.pipeline import to_original_boxes
    from keras_boxloss.training.predict import detect

    size, mode = config.model.image_size, config.data.resize_mode
    for start in range(0, len(paths), batch_size):
        chunk = paths[start:start + batch_size]
        images = [read_image(path) for path in chunk]
        canvases, valid = zip(*(canvas(image, size, mode)
                                for image in images))
        out = detect(model, tf.stack(canvases), **nms_kwargs)
        out["detection_boxes"] = to_original_boxes(out["detection_boxes"],
                                                   tf.stack(valid))
        for i, (path, image) in enumerate(zip(chunk, images)):
            yield path, image, {key: np.asarray(value[i])
                                for key, value in out.items()}


def load_serving_function(saved_model):
    """`(loaded SavedModel, serving_default function, input type)` of a
    `keras-boxloss export` SavedModel; the input type one of
    `training.export.INPUT_TYPES`. The function's variables belong to the
    loaded object: keep it while calling. `saved_model` may also be the
    folder the OD API's `exporter_main_v2.py` writes, with the SavedModel
    in its `saved_model/`."""
    import tensorflow as tf

    nested = Path(saved_model) / "saved_model"
    if (not (Path(saved_model) / "saved_model.pb").is_file()
            and (nested / "saved_model.pb").is_file()):
        saved_model = nested
    try:
        loaded = tf.saved_model.load(str(saved_model))
    except (OSError, ValueError, tf.errors.OpError) as error:
        raise ValueError(
            f"Expected a SavedModel folder written by `keras-boxloss "
            f"export`. Received: saved_model={str(saved_model)!r} "
            f"({type(error).__name__}: {str(error).splitlines()[0]})"
        ) from None
    signature = loaded.signatures.get("serving_default")
    if signature is None:
        raise ValueError(
            f"Expected a SavedModel with a serving_default signature "
            f"(`keras-boxloss export`). Received: saved_model="
            f"{str(saved_model)!r} has {sorted(loaded.signatures)}")
    spec = signature.structured_input_signature[1].get("input_tensor")
    if spec is None:
        raise ValueError(
            f"Expected serving_default to take input_tensor (the TF OD "
            f"API's signature). Received: saved_model={str(saved_model)!r} "
            f"takes {sorted(signature.structured_input_signature[1])}")
    if spec.dtype == tf.uint8:
        kind = "image_tensor"
    elif spec.dtype.is_floating:
        kind = "float_image_tensor"
    elif spec.dtype != tf.string:
        raise ValueError(
            f"Expected serving_default's input_tensor to be uint8 or float "
            f"images or strings (the TF OD API's input types). Received: "
            f"saved_model={str(saved_model)!r} takes {spec}")
    else:  # both string inputs are [B] strings: the graph tells them apart
        ops = {op.type for op in signature.graph.get_operations()}
        ops |= {node.op for function in
                signature.graph.as_graph_def().library.function
                for node in function.node_def}
        kind = ("tf_example" if any(op.startswith("ParseExample")
                                    for op in ops)
                else "encoded_image_string_tensor")
    return loaded, signature, kind


def saved_model_detections(saved_model, paths, settings=None):
    """Yields `(path, image, detections)` per image through the
    SavedModel's serving signature, fed the upright RGB image (for the
    string inputs as a PNG, so that EXIF orientation and the colour
    conversion are the same as for a run's model).

    `settings`, a dict, gets the detections per image that apply once the
    SavedModel is loaded: its `max_detections` (the requested number, or
    `None`) becomes the least of it and the SavedModel's own K (its
    `detection_boxes`' second dimension)."""
    import tensorflow as tf

    # `loaded` stays referenced while `serve` runs: it owns the variables
    loaded, serve, kind = load_serving_function(saved_model)
    spec_dtype = serve.structured_input_signature[1]["input_tensor"].dtype
    if settings is not None:
        spec = serve.structured_outputs.get("detection_boxes")
        size = spec.shape[1] if spec is not None and spec.shape.rank else None
        requested = settings.get("max_detections")
        if size is not None:
            settings["max_detections"] = (int(size) if requested is None
                                          else min(requested, int(size)))
    for path in paths:
        image = read_image(path)
        if kind in ("image_tensor", "float_image_tensor"):
            feed = tf.cast(image[None], spec_dtype)
        else:
            encoded = tf.io.encode_png(image).numpy()
            if kind == "tf_example":
                feature = tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[encoded]))
                encoded = tf.train.Example(features=tf.train.Features(
                    feature={"image/encoded": feature})).SerializeToString()
            feed = tf.constant([encoded])
        out = serve(input_tensor=feed)
        yield path, image, {key: np.asarray(out[key][0]) for key in (
            "detection_boxes", "detection_scores", "detection_classes",
            "num_detections")}


def run_label_map(model_dir, config, path=None):
    """The label map naming a run's class ids: `path` when given, else the
    run's `data.label_map`, else `label_map.pbtxt` beside its training
    records, else, for a run on the generated data, its classes; `None`
    when none is found (ids are shown then)."""
    from keras_boxloss.data.label_map import find_label_map, read_label_map

    if path:
        return read_label_map(path)
    if config.data.label_map and os.path.isfile(config.data.label_map):
        return read_label_map(config.data.label_map)
    if config.data.train:
        try:
            return find_label_map(config.data.train)[0]
        except (FileNotFoundError, ValueError):  # the records moved away
            return None
    from keras_boxloss.data.generated import CLASSES

    return dict(CLASSES)


def saved_model_label_map(saved_model, path=None):
    """`path` when given, else `label_map.pbtxt` in the SavedModel's folder
    or the one above it (`saved_models/<name>/label_map.pbtxt` beside
    `saved_models/<name>/1`), else `None`."""
    from keras_boxloss.data.label_map import LABEL_MAP_FILE, read_label_map

    if path:
        return read_label_map(path)
    for folder in (Path(saved_model), Path(saved_model).resolve().parent):
        if (folder / LABEL_MAP_FILE).is_file():
            return read_label_map(folder / LABEL_MAP_FILE)
    return None


def image_result(path, image, detections, score_threshold: float,
                 max_detections=None, label_map=None) -> dict:
    """One image's entry of `predictions.json`: its detections scored at
    least `score_threshold` whose box has an area in the image's pixels
    (the best `max_detections`), boxes in the image's pixels `[xmin, ymin, xmax, ymax]` and normalised `[ymin, xmin,
    ymax, xmax]` (the TF OD API's order)."""
    from keras_boxloss.data.label_map import display_names

    height, width = image.shape[:2]
    count = int(detections["num_detections"])
    scores = detections["detection_scores"][:count]
    boxes = detections["detection_boxes"][:count].astype(np.float64)
    y1, x1, y2, x2 = boxes.T.reshape(4, -1)
    pixels = np.round(np.stack([x1 * width, y1 * height, x2 * width,
                                y2 * height], -1), 2)
    # boxes of no area in the image's pixels (those in pad mode's padding,
    # clipped to its edge) are no detections
    has_area = (pixels[:, 2] > pixels[:, 0]) & (pixels[:, 3] > pixels[:, 1])
    keep = np.flatnonzero((scores >= score_threshold) & has_area)  # sorted
    keep = keep[:max_detections] if max_detections is not None else keep
    boxes, pixels = boxes[keep], pixels[keep]
    classes = detections["detection_classes"][keep].astype(np.int64)
    names = display_names(label_map)
    return {
        "file": Path(path).name,
        "path": str(path),
        "width": int(width),
        "height": int(height),
        "num_detections": len(keep),
        "boxes": pixels.tolist(),
        "boxes_normalized": np.round(boxes, 6).tolist(),
        "scores": np.round(scores[keep].astype(np.float64), 5).tolist(),
        "classes": classes.tolist(),
        "class_names": [names.get(int(c)) for c in classes],
    }


def _drawing_name(path, taken: set) -> str:
    """The image's file name, `stem_2.ext` ... when two inputs share it."""
    name, stem, suffix = Path(path).name, Path(path).stem, Path(path).suffix
    count = 1
    while name.lower() in taken or name == PREDICTIONS:
        count += 1
        name = f"{stem}_{count}{suffix}"
    taken.add(name.lower())
    return name


def write_predictions(results, output_dir, overwrite: bool = False,
                      label_map=None, source=None, settings=None) -> list:
    """Writes `output_dir/predictions.json` and each image with its boxes
    drawn (`evaluation.visualize.draw_detections`), under its file name.
    The folder is written whole or not at all (`replacing_folder`): an
    unreadable image met halfway leaves `output_dir` as it was.

    Args:
        results: `(path, image, result)` triples, `result` an
            `image_result` (consumed while writing).
        output_dir: the folder; a non-empty one needs `overwrite`.
        label_map: names of the drawings' labels.
        source, settings: recorded in `predictions.json` (the model and
            the thresholds).

    Returns:
        The results written.
    """
    from keras_boxloss.data.output_folder import replacing_folder
    from keras_boxloss.evaluation.visualize import draw_detections

    written, taken = [], set()
    with replacing_folder(output_dir, overwrite) as temp:
        for path, image, result in results:
            drawn = draw_detections(
                image, (), (), result["boxes_normalized"], result["scores"],
                result["classes"], label_map, score_threshold=-np.inf)
            result["drawing"] = _drawing_name(path, taken)
            drawn.save(os.path.join(temp, result["drawing"]))
            written.append(result)
        with open(os.path.join(temp, PREDICTIONS), "w") as file:
            json.dump({"model": source, **(settings or {}),
                       "images": written}, file, indent=1)
            file.write("\n")
    return written
