"""The Model Garden overrides being built from a pipeline.config (a nested
dict plus, per dotted key, a comment saying where the value came from:
what `import-config` writes next to it), and the checked reads of scalar
fields the Faster R-CNN mapping modules share."""

from __future__ import annotations

import math

import yaml

from keras_boxloss.odapi import faster_rcnn_schema as schema
from keras_boxloss.odapi.accounting import Section, get_dotted, set_dotted


class GardenMapping:
    """`put("task.model.num_classes", 38, "why")` builds `overrides`
    (`{"task": {"model": {"num_classes": 38}}}`) and `comments`. A key set
    twice is a bug in the mapping: it raises instead of overwriting."""

    def __init__(self):
        self.overrides: dict = {}
        self.comments: dict[str, str] = {}
        # (source path, L2 weight, Section) of every Hyperparams regularizer:
        # Model Garden has one weight decay for the whole model.
        self.l2: list = []

    def put(self, key: str, value, comment: str = "") -> None:
        if key in self.comments:
            raise ValueError(f"Expected each Model Garden key set once. "
                             f"Received: {key} again ({comment})")
        set_dotted(self.overrides, key, value)
        self.comments[key] = comment

    def get(self, key: str, default=None):
        return get_dotted(self.overrides, key, default)

    def to_yaml(self, header: str = "") -> str:
        """The overrides as YAML with each value's comment after it."""
        lines = [f"# {line}" for line in header.splitlines()]
        self._emit(self.overrides, "", 0, lines)
        return "\n".join(lines) + "\n"

    def _emit(self, node: dict, prefix: str, depth: int, lines: list) -> None:
        indent = "  " * depth
        for name, value in node.items():
            key = f"{prefix}.{name}" if prefix else name
            if isinstance(value, dict):
                lines.append(f"{indent}{name}:")
                self._emit(value, key, depth + 1, lines)
                continue
            text = yaml.safe_dump(value, default_flow_style=True,
                                  width=10_000).strip()
            text = text.removesuffix("\n...").strip()
            comment = self.comments.get(key, "")
            line = f"{indent}{name}: {text}"
            lines.append(f"{line}  # {comment}" if comment else line)


def fail(section: Section, name: str, expected: str, value) -> None:
    raise ValueError(f"{section.where(name)}: Expected "
                     f"`{section.path}.{name}` {expected}. "
                     f"Received: {name}={value!r}")


def number(section: Section, name: str, default=None, low=None, high=None,
           integer=False, required=False, positive=False):
    """A scalar field (or `default`), checked: a number (`integer`) within
    [low, high] (> 0 with `positive`); else an error naming the field."""
    value = section.value(name, default)
    if value is None:
        if required:
            raise ValueError(f"{section.where()}: Expected "
                             f"`{section.path}.{name}` (it has no default). "
                             f"Received: no {name} field")
        return None
    kind = "an integer" if integer else "a number"
    ok = (not isinstance(value, bool) and isinstance(value, (int, float))
          and (not integer or isinstance(value, int))
          and math.isfinite(value)
          and (low is None or value >= low)
          and (high is None or value <= high)
          and (not positive or value > 0))
    if not ok:
        bounds = "".join([" > 0" if positive else "",
                          f" >= {low}" if low is not None else "",
                          f" <= {high}" if high is not None else ""])
        fail(section, name, f"to be {kind}{bounds}", value)
    return value


def mark_or_default(section: Section, name: str, status: str,
                    note: str) -> None:
    """Marks `name`; when absent (its proto default applies), records the
    note at the enclosing message's line, so the user still sees it."""
    if section.has(name):
        section.report.mark(f"{section.path}.{name}",
                            section.message.field(name), status, note)
    elif section:
        section.report.mark(f"{section.path}.{name}", None, status,
                            f"(absent: the OD API default) {note}",
                            line=section.line())


def positive_int(section: Section, name: str, default=None,
                 required=False):
    return number(section, name, default, low=1, integer=True,
                  required=required)


def put_field(frcnn: Section, name: str, out: "GardenMapping",
              keys: tuple[str, ...], value_range=(0, None),
              integer=False) -> None:
    """A scalar of `model.faster_rcnn` with a proto default (DEFAULTS),
    copied to the Model Garden `keys`."""
    default = schema.DEFAULTS[name]
    low, high = value_range
    value = number(frcnn, name, default, low=low, high=high,
                   integer=integer)
    where = (f"line {frcnn.line(name)}" if frcnn.has(name)
             else "OD API default")
    for key in keys:
        out.put(key, value, f"{frcnn.path}.{name} ({where})")
    frcnn.honoured(name, ", ".join(f"{key}: {value}" for key in keys))
