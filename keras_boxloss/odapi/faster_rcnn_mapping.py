"""The Model Garden overrides being built from a pipeline.config: a nested
dict plus, per dotted key, a comment saying where the value came from
(what `import-config` writes next to it)."""

from __future__ import annotations

import yaml


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
        node = self.overrides
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
        self.comments[key] = comment

    def get(self, key: str, default=None):
        node = self.overrides
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

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
