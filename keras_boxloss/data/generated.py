"""A small deterministic generated detection dataset: the default data.

Images are `image_size` squares (128 px by default) of a grey texture (smooth
noise plus stripes; every background pixel has R = G = B) with one to four
non-overlapping shapes of three classes -- `rectangle`, `ellipse`, `triangle`
-- filled with a saturated colour, 8 to 72 px on a side, so about a third of
them are COCO "small". Boxes are the tight pixel extent of each shape's
pixels, and images are PNG, so a shape's pixels are exactly the pixels whose
channels differ by more than `SATURATION_THRESHOLD` (what the pipeline tests
use to check that augmentations keep boxes on objects).

Everything is a function of the seed. `default_dataset()` writes it once into
a cache folder with the same record writer as the converters and returns
the paths.
"""

import io
import json
import os

import numpy as np

from keras_boxloss import atomic_files

CLASSES = {1: "rectangle", 2: "ellipse", 3: "triangle"}
DEFAULT_SPLITS = {"train": 256, "val": 64}
SATURATION_THRESHOLD = 100
VERSION = 1
CACHE_ENV = "KERAS_BOXLOSS_CACHE"


def _background(rng, size):
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    coarse = rng.uniform(0, 1, (5, 5)).astype(np.float32)
    cells = np.kron(coarse, np.ones((size // 4 + 1, size // 4 + 1)))
    smooth = cells[:size, :size]
    angle = rng.uniform(0, np.pi)
    stripes = np.sin((np.cos(angle) * x + np.sin(angle) * y)
                     * rng.uniform(10, 40))
    fine = rng.uniform(-1, 1, (size, size))
    grey = 125 + 35 * (smooth - 0.5) * 2 + 15 * stripes + 8 * fine
    grey = np.clip(grey, 60, 190).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def _colour(rng):
    colour = np.array([rng.integers(200, 256), rng.integers(0, 60),
                       rng.integers(0, 60)])
    return tuple(int(c) for c in rng.permutation(colour))


def _shape_mask(rng, class_id, size, box):
    """Mask of one shape drawn inside the pixel box `(x1, y1, x2, y2)`."""
    from PIL import Image, ImageDraw

    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    x1, y1, x2, y2 = box
    if class_id == 1:
        draw.rectangle([x1, y1, x2 - 1, y2 - 1], fill=255)
    elif class_id == 2:
        draw.ellipse([x1, y1, x2 - 1, y2 - 1], fill=255)
    else:
        apex = int(rng.integers(x1, x2))
        draw.polygon([(apex, y1), (x1, y2 - 1), (x2 - 1, y2 - 1)], fill=255)
    return np.asarray(mask) > 0


def generate_image(rng, image_size=128, max_objects=4):
    """One image: `(pixels uint8 [H, W, 3], boxes [N, 4] pixel xyxy,
    classes [N])`."""
    pixels = _background(rng, image_size)
    taken = np.zeros((image_size, image_size), bool)
    boxes, classes = [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _attempt in range(20):
            # sides 8..72 px (at 128 px and up); smaller images get smaller
            # objects so every one fits
            w, h = (int(v) for v in rng.integers(
                8, min(73, image_size - 7), 2))
            x1 = int(rng.integers(0, image_size - w + 1))
            y1 = int(rng.integers(0, image_size - h + 1))
            if not taken[max(y1 - 2, 0):y1 + h + 2,
                         max(x1 - 2, 0):x1 + w + 2].any():
                break
        else:
            continue
        class_id = int(rng.integers(1, len(CLASSES) + 1))
        mask = _shape_mask(rng, class_id, image_size, (x1, y1, x1 + w, y1 + h))
        rows, cols = np.nonzero(mask)
        pixels[mask] = _colour(rng)
        taken[y1:y1 + h, x1:x1 + w] = True
        boxes.append([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
        classes.append(class_id)
    return pixels, np.array(boxes, np.float64).reshape(-1, 4), np.array(
        classes, np.int64)


def generate_records(num_images, seed=0, image_size=128, first_id=1):
    """`num_images` `DetectionRecord`s (PNG), source ids from `first_id`."""
    from PIL import Image

    from keras_boxloss.data.records import DetectionRecord

    if not isinstance(num_images, int) or num_images < 0:
        raise ValueError(f"Expected a non-negative integer num_images. "
                         f"Received: num_images={num_images!r}")
    if not isinstance(image_size, int) or image_size < 64:
        raise ValueError(f"Expected an integer image_size >= 64. "
                         f"Received: image_size={image_size!r}")
    rng = np.random.default_rng(seed)
    records = []
    for index in range(num_images):
        pixels, boxes, classes = generate_image(rng, image_size)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        source_id = first_id + index
        records.append(DetectionRecord(
            encoded=buffer.getvalue(), image_format="png",
            height=image_size, width=image_size,
            filename=f"generated_{source_id:05d}.png",
            source_id=str(source_id),
            boxes=boxes[:, [1, 0, 3, 2]] / image_size, classes=classes,
            class_names=[CLASSES[c] for c in classes]))
    return records


def write_generated_dataset(output_dir, splits=None, seed=0, image_size=128,
                            num_shards=1):
    """Writes the generated splits (`{split: num_images}`) and the label map.

    Returns:
        `{split: records glob, ..., "label_map": path}`.
    """
    from keras_boxloss.data.conversion import LABEL_MAP_FILE
    from keras_boxloss.data.label_map import write_label_map
    from keras_boxloss.data.records import write_records

    splits = dict(splits or DEFAULT_SPLITS)
    first_id = 1
    for index, (split, count) in enumerate(splits.items()):
        records = generate_records(count, seed=[seed, index],
                                   image_size=image_size, first_id=first_id)
        write_records(records, output_dir, split, num_shards)
        first_id += count
    write_label_map(CLASSES, os.path.join(output_dir, LABEL_MAP_FILE))
    return _dataset_paths(output_dir, splits)


def default_cache_dir():
    """`$KERAS_BOXLOSS_CACHE`, else `~/.cache/keras_boxloss`."""
    return os.environ.get(CACHE_ENV) or os.path.join(
        os.path.expanduser("~"), ".cache", "keras_boxloss")


def default_dataset(directory=None, seed=0, image_size=128, splits=None):
    """The generated dataset, written once into `directory` and reused.

    Args:
        directory: the cache folder (`default_cache_dir()` when `None`); the
            dataset goes into a sub-folder named by its parameters.
        seed, image_size, splits: see `write_generated_dataset`.

    Returns:
        `{"train": glob, "val": glob, "label_map": path}` (the keys of
        `splits`).
    """
    splits = dict(splits or DEFAULT_SPLITS)
    params = {"version": VERSION, "seed": seed, "image_size": image_size,
              "splits": splits}
    name = (f"generated-v{VERSION}-seed{seed}-{image_size}px-"
            + "-".join(f"{k}{v}" for k, v in splits.items()))
    folder = os.path.join(directory or default_cache_dir(), name)
    marker = os.path.join(folder, "dataset.json")
    if os.path.exists(marker):
        with open(marker) as file:
            cached = json.load(file)
        if cached.get("params") == params:
            return _dataset_paths(folder, splits)
    paths = write_generated_dataset(folder, splits, seed, image_size)
    # written last, and whole (a truncated marker would fail json.load on
    # the next call): marks a complete dataset
    atomic_files.write_json(marker, {"params": params}, indent=1)
    return paths


def _dataset_paths(folder, splits):
    from keras_boxloss.data.conversion import LABEL_MAP_FILE
    from keras_boxloss.data.records import records_glob

    paths = {split: records_glob(folder, split) for split in splits}
    paths["label_map"] = os.path.join(folder, LABEL_MAP_FILE)
    return paths
