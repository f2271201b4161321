"""Whether a `fine_tune_checkpoint` can initialise Model Garden's Faster
R-CNN, and which of its modules (`task.init_checkpoint_modules`).

Model Garden restores object-based (TF2) checkpoints: `backbone` restores
a checkpoint whose root holds `backbone` (its classification
checkpoints), `all` one whose root holds `model` (a Model Garden detection
checkpoint). TF1 (name-based) checkpoints, those of the OD API's TF1 model
zoo, and the OD API's TF2 detection checkpoints (their model is not Model
Garden's) cannot be loaded: an error says so, never a silent train from
scratch. Imports TensorFlow when called.
"""

from __future__ import annotations

import os

_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


def checkpoint_prefix(path: str) -> str | None:
    """The checkpoint prefix of `path` (a prefix, or a folder's latest),
    None when there is none."""
    import tensorflow as tf

    if os.path.isdir(path):
        return tf.train.latest_checkpoint(path)
    return path if os.path.exists(path + ".index") else None


def garden_modules(path: str, kind: str, where: str) -> tuple[str, str]:
    """(`init_checkpoint_modules`, a note) for the checkpoint at `path`;
    `kind` is the OD API's fine_tune_checkpoint_type; `where` (file:line)
    starts the errors."""
    import tensorflow as tf

    field = "train_config.fine_tune_checkpoint"
    prefix = checkpoint_prefix(path)
    if prefix is None:
        raise ValueError(f"{where}: Expected `{field}` to be an existing "
                         f"checkpoint (a prefix with its .index file, or a "
                         f"folder holding one; relative to the config's "
                         f"folder). Received: fine_tune_checkpoint={path!r} "
                         f"(not found)")
    keys = [name for name, _ in tf.train.list_variables(prefix)]
    if _GRAPH_KEY not in keys:
        raise ValueError(f"{where}: Expected `{field}` to be a TF2 (object-"
                         f"based) Model Garden checkpoint. Received: {path} "
                         f"is a TF1 name-based checkpoint (like the OD API's "
                         f"TF1 model zoo); Model Garden cannot load it")
    roots = {name.split("/", 1)[0] for name in keys if name != _GRAPH_KEY}
    if "backbone" in roots:
        return "backbone", f"{kind} checkpoint: its backbone"
    if "model" in roots and any(k.startswith("model/backbone/")
                                for k in keys):
        note = "a Model Garden detection checkpoint: the whole model"
        if kind == "classification":
            note += " (fine_tune_checkpoint_type was classification)"
        return "all", note
    raise ValueError(f"{where}: Expected `{field}` to hold a Model Garden "
                     f"`backbone` (a classification checkpoint) or "
                     f"`model/backbone` (a detection one). Received: "
                     f"{path} with roots {sorted(roots)} (an OD API TF2 "
                     f"checkpoint's model is not Model Garden's)")
