"""Reading a TF OD API pipeline.config: detection by content, parsing, the
field-name check, `--set` overrides in the config's own dotted names.

`--set` forms (each `KEY=VALUE`):
- `train_config.batch_size=8`: a field of the pipeline config, by its dotted
  path; VALUE in text format (`8`, `"a.record"`, `[1.0, 2.0]`, `RELU_6`,
  `{ delta: 0.5 }`); missing parent messages are created; a repeated field
  is replaced as a whole. `KEY=` (empty) removes the field.
- `model.ssd.loss.localization_loss=smooth_iou` (any box loss of the
  library, at any `*localization_loss` field): train with that box loss
  instead of the config's; recorded in `Pipeline.box_losses`.
- anything else (`trainer.steps_per_epoch=10`, `model.backbone=tiny`): a key
  of the project's own config, applied to the converted result
  (`Pipeline.own_overrides`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path

from keras_boxloss.odapi import schema
from keras_boxloss.odapi.accounting import check_placeholders
from keras_boxloss.odapi.text_format import Enum, Field, Message, parse

TOP_LEVEL = tuple(schema.MESSAGES["TrainEvalPipelineConfig"])
MODEL_KINDS = tuple(schema.MESSAGES["DetectionModel"])
SET_LINE = 0  # the line number of a field given by --set


@dataclass
class Pipeline:
    root: Message
    source: str
    config_dir: Path | None
    box_losses: dict[str, str] = dataclass_field(default_factory=dict)
    own_overrides: list[str] = dataclass_field(default_factory=list)
    removed: list[tuple[str, int]] = dataclass_field(default_factory=list)

    @property
    def kind(self) -> str:
        model = self.root.get("model")
        names = model.names() if isinstance(model, Message) else []
        if len(names) != 1:
            raise ValueError(
                f"{self.source}: Expected `model` to hold one of "
                f"{list(MODEL_KINDS)}. Received: "
                f"{names or 'no model section'}")
        return names[0]


def is_pipeline_text(text: str) -> bool:
    """True when `text` opens like a pipeline.config: its first field is a
    top-level pipeline message (`model {`, `train_config: {`, ...). A YAML
    file (`model:` then an indented mapping) is not."""
    lines = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
        if len(lines) == 2:
            break
    if not lines:
        return False
    head = lines[0]
    name = head.split(":")[0].split("{")[0].split("<")[0].strip()
    if name not in TOP_LEVEL:
        return False
    rest = head[len(head.split(name, 1)[0]) + len(name):].lstrip()
    rest = rest[1:].lstrip() if rest.startswith(":") else rest
    if rest:
        return rest[0] in "{<"
    return len(lines) > 1 and lines[1][0] in "{<"


def is_pipeline_file(path: str | os.PathLike) -> bool:
    try:
        with open(path, encoding="utf-8-sig") as file:  # see load_pipeline
            return is_pipeline_text(file.read(65536))
    except (OSError, UnicodeDecodeError):
        return False


def load_pipeline(path: str | os.PathLike | None = None,
                  overrides=(), text: str | None = None,
                  check_paths: bool = True, skip_placeholders=()
                  ) -> Pipeline:
    """Parses a pipeline config (from `path`, or `text`), applies
    `overrides`, checks field names and PATH_TO_BE_CONFIGURED (but in the
    dotted paths `skip_placeholders`)."""
    if text is None:
        if path is None:
            raise ValueError("Expected a pipeline config path or text. "
                             "Received: neither")
        try:
            # utf-8-sig: a byte-order mark (Notepad) is not config text
            text = Path(path).read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise ValueError(f"Config file not found: {path}") from None
    source = str(path) if path is not None else "<string>"
    root = parse(text, source)
    config_dir = Path(path).resolve().parent if path is not None else None
    pipe = Pipeline(root, source, config_dir)
    for item in overrides:
        _apply_override(pipe, item)
    if "faster_rcnn" in (root.get("model").names()
                         if isinstance(root.get("model"), Message) else []):
        try:  # registers its message types in schema.MESSAGES
            import keras_boxloss.odapi.faster_rcnn  # noqa: F401
        except ImportError:
            pass
    schema.check_names(root, source=source)
    if check_paths:
        check_placeholders(root, source, skip_placeholders)
    return pipe


def _schema_kind(parts: list[str]):
    """The schema kind of a dotted path: None (scalar), a type name, ANY, or
    False when a name is unknown."""
    type_name = "TrainEvalPipelineConfig"
    kind = type_name
    for part in parts:
        fields = schema.MESSAGES.get(type_name)
        if fields is None:
            return schema.ANY
        if part not in fields:
            return False
        kind = fields[part]
        if kind is None or kind == schema.ANY:
            return kind if part == parts[-1] else (
                schema.ANY if kind == schema.ANY else False)
        type_name = kind
    return kind


def _apply_override(pipe: Pipeline, item: str) -> None:
    from keras_boxloss.losses.registry import BOX_LOSSES

    key, sep, value = item.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key:
        raise ValueError(f"Expected overrides as KEY=VALUE. Received: {item!r}")
    parts = key.split(".")
    ours = parts[0] not in TOP_LEVEL or (
        parts[0] == "model" and (len(parts) < 2 or parts[1] not in MODEL_KINDS))
    if ours:
        pipe.own_overrides.append(f"{key}={value}")
        return
    if (parts[-1].endswith("localization_loss") and value in BOX_LOSSES
            and len(parts) > 2):
        # Our box loss instead of the config's (any *localization_loss key
        # under model.<kind>; the mapping module says which it honours).
        pipe.box_losses[key] = value
        return
    kind = _schema_kind(parts)
    if kind is False:
        raise ValueError(
            f"Expected --set {key} to name a field of the TF OD API's "
            f"pipeline config (or of this project's config). Received: "
            f"--set {item}")
    if kind not in (None, schema.ANY) and value.isidentifier():
        raise ValueError(
            f"Expected --set {key}= one of this library's box losses "
            f"{sorted(BOX_LOSSES)} or a message {{ ... }}. Received: {value!r}"
            if parts[-1].endswith("localization_loss") else
            f"Expected --set {key}= a message {{ ... }} ({kind}). "
            f"Received: {value!r}")
    parent = pipe.root
    for part in parts[:-1]:
        found = [f for f in parent.fields if f.name == part]
        if len(found) > 1:
            raise ValueError(
                f"Expected --set {key} to name a single field. Received: "
                f"`{part}` is repeated {len(found)} times (lines "
                f"{', '.join(str(f.line) for f in found)})")
        if not found:
            child = Message(line=SET_LINE, source="--set")
            parent.fields.append(Field(part, child, SET_LINE))
            parent = child
        elif not isinstance(found[0].value, Message):
            raise ValueError(f"Expected --set {key}: `{part}` to be a "
                             f"message. Received: {found[0].value!r}")
        else:
            parent = found[0].value
    name = parts[-1]
    index = next((i for i, f in enumerate(parent.fields) if f.name == name),
                 len(parent.fields))
    removed = [f for f in parent.fields if f.name == name]
    parent.fields[:] = [f for f in parent.fields if f.name != name]
    if value == "":
        pipe.removed += [(key, f.line) for f in removed]
        return
    try:
        parsed = parse(f"{name}: {value}", source=f"--set {key}")
    except ValueError as error:
        hint = ("" if any(c in value for c in "\"'{[") else
                f"; a string goes in quotes: --set '{key}=\"{value}\"'")
        raise ValueError(f"Expected --set {key}=VALUE in protobuf text "
                         f"format. Received: {value!r} ({error}){hint}"
                         ) from None
    new = [Field(f.name, f.value, SET_LINE) for f in parsed.fields]
    parent.fields[index:index] = new


def enum_name(value) -> str:
    """An enum value or string as upper-case text (RELU_6, 'sigmoid')."""
    return str(value) if isinstance(value, (Enum, str)) else repr(value)
