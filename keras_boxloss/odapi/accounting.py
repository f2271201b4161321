"""Field accounting for an imported TF OD API pipeline.config.

Every field present in the file ends up in exactly one of three states,
printed for the user and written as comments by `import-config`:

- honoured: mapped to the same behaviour (`note` says where it went);
- approximated: mapped to the nearest thing we have (`note`: what it
  became and why);
- not supported: ignored (`note`: why).

A mapping module (odapi/ssd.py, odapi/faster_rcnn.py) walks the parsed tree
with `Section`s and marks each field it reads:

    report = Report(source="pipeline.config")
    ssd = Section(root, "", report).sub("model").sub("ssd")
    n = ssd.value("num_classes")                    # scalar (or default)
    ssd.honoured("num_classes", f"model.num_classes: {n}")
    coder = ssd.sub("box_coder").sub("faster_rcnn_box_coder")
    coder.approximated("y_scale", "our coder is fixed at 10/10/5/5")
    ssd.sub("box_predictor").not_supported_rest("plain 3x3 conv heads")
    ...
    report.finish(root)   # anything left unmarked -> "not supported: not
                          # mapped" (never silent); returns nothing

Marking a message field covers its whole subtree. `Section.sub(name)` of an
absent message is an empty section (every read gives the default, every
mark is a no-op), so mapping code need not test presence first.

`Report.entries` is the list of `Entry(path, line, status, note)` in the
order marked; `Report.format()` gives the printed lines, `Report.lookup()`
a {path: [Entry, ...]} index.

Other helpers: `set_dotted` / `get_dotted` write and read a nested dict by
dotted key (the mapped values); `check_placeholders(root)` raises ONE
ValueError listing every field still holding PATH_TO_BE_CONFIGURED;
`resolve_path(text, config_dir)` resolves a relative path against the
config's folder (else the current folder, with a note, when only that
holds it).
"""

from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from keras_boxloss.odapi.text_format import Field, Message

HONOURED = "honoured"
APPROXIMATED = "approximated"
NOT_SUPPORTED = "not supported"
STATUSES = (HONOURED, APPROXIMATED, NOT_SUPPORTED)
NOT_MAPPED = "not mapped by keras-boxloss"
PLACEHOLDER = "PATH_TO_BE_CONFIGURED"


@dataclass(frozen=True)
class Entry:
    path: str      # dotted, e.g. model.ssd.num_classes
    line: int
    status: str    # one of STATUSES
    note: str


class Report:
    """The accounting of one pipeline config (see the module docstring)."""

    def __init__(self, source: str = "<string>"):
        self.source = source
        self.entries: list[Entry] = []
        self._marked: set[int] = set()
        self._entries_seen: set[Entry] = set()

    def mark(self, path: str, field: Field | None, status: str,
             note: str = "", line: int | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"Expected status in {STATUSES}. "
                             f"Received: status={status!r}")
        if field is not None:
            if id(field) in self._marked:
                return  # repeated marks of the same field: the first wins
            self._marked.add(id(field))
            line = field.line
        entry = Entry(path, line or 0, status, note)
        # a list value (`scales: [0.25, 0.5, 1.0]`) is one field per element
        # on one line: one entry says it
        if entry not in self._entries_seen:
            self._entries_seen.add(entry)
            self.entries.append(entry)

    def honoured(self, path: str, field: Field | None, note: str = "") -> None:
        self.mark(path, field, HONOURED, note)

    def approximated(self, path: str, field: Field | None, note: str) -> None:
        self.mark(path, field, APPROXIMATED, note)

    def not_supported(self, path: str, field: Field | None, note: str) -> None:
        self.mark(path, field, NOT_SUPPORTED, note)

    def is_marked(self, field: Field) -> bool:
        return id(field) in self._marked

    def finish(self, root: Message, prefix: str = "") -> None:
        """Marks every field of `root` not yet accounted (and not under an
        accounted message) as not supported: nothing passes unreported."""
        for f in root.fields:
            path = f"{prefix}.{f.name}" if prefix else f.name
            if id(f) in self._marked:
                continue
            if isinstance(f.value, Message):
                before = len(self.entries)
                self.finish(f.value, path)
                if len(self.entries) == before and not f.value.fields:
                    # an empty message, e.g. `iou_similarity { }`
                    self.mark(path, f, NOT_SUPPORTED, NOT_MAPPED)
            else:
                self.mark(path, f, NOT_SUPPORTED, NOT_MAPPED)

    def lookup(self) -> dict[str, list[Entry]]:
        index: dict[str, list[Entry]] = {}
        for entry in self.entries:
            index.setdefault(entry.path, []).append(entry)
        return index

    def format(self) -> str:
        lines = []
        for e in sorted(self.entries, key=lambda e: e.line):
            where = f"{self.source}:{e.line}" if e.line else "--set"
            text = f"{where}: {e.path}: {e.status}"
            lines.append(f"{text}: {e.note}" if e.note else text)
        return "\n".join(lines)

    def counts(self) -> dict[str, int]:
        return {s: sum(e.status == s for e in self.entries) for s in STATUSES}


class Section:
    """A message of the tree at a dotted `path`, with marks into a Report."""

    def __init__(self, message: Message | None, path: str, report: Report,
                 field: Field | None = None):
        self.message = message
        self.path = path
        self.report = report
        self.field = field  # this message's field in its parent, if any

    def __bool__(self) -> bool:
        return self.message is not None

    def _path(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _fields(self, name: str) -> list[Field]:
        if self.message is None:
            return []
        return [f for f in self.message.fields if f.name == name]

    def has(self, name: str) -> bool:
        return bool(self._fields(name))

    def names(self) -> list[str]:
        return [] if self.message is None else self.message.names()

    def line(self, name: str | None = None) -> int:
        if name is None:
            return 0 if self.message is None else self.message.line
        found = self._fields(name)
        return found[0].line if found else 0

    def where(self, name: str | None = None) -> str:
        """`source:line` of a field (or this message, when the field is
        absent), for error messages; `source (--set)` for one given by
        --set."""
        line = self.line(name) if name and self.has(name) else self.line()
        if line:
            return f"{self.report.source}:{line}"
        return f"{self.report.source} (--set)"

    def value(self, name: str, default=None):
        """The scalar value of `name`; `default` when absent."""
        if self.message is None:
            return default
        value = self.message.get(name, default)
        if isinstance(value, Message):
            raise ValueError(
                f"{self.where(name)}: Expected `{self._path(name)}` to be a "
                f"value. Received: a message {{ ... }}")
        return value

    def values(self, name: str) -> list:
        return [f.value for f in self._fields(name)]

    def sub(self, name: str) -> "Section":
        """The message field `name` (an empty Section when absent)."""
        if self.message is None:
            return Section(None, self._path(name), self.report)
        value = self.message.get(name)
        if value is not None and not isinstance(value, Message):
            raise ValueError(
                f"{self.where(name)}: Expected `{self._path(name)}` to be a "
                f"message {{ ... }}. Received: {value!r}")
        found = self._fields(name)
        return Section(value, self._path(name), self.report,
                       found[0] if found else None)

    def subs(self, name: str) -> list["Section"]:
        """Every occurrence of a repeated message field."""
        return [Section(f.value, self._path(name), self.report, f)
                for f in self._fields(name) if isinstance(f.value, Message)]

    def oneof(self, choices=None) -> tuple[str | None, "Section"]:
        """The single set field of a oneof (e.g. `image_resizer`'s); with
        `choices`, only those names count (a message with other fields)."""
        names = [n for n in self.names() if choices is None or n in choices]
        if not names:
            return None, Section(None, self.path, self.report)
        if len(names) > 1:
            raise ValueError(
                f"{self.where(names[1])}: Expected one of the choices in "
                f"`{self.path}`. Received: {', '.join(names)}")
        return names[0], self.sub(names[0])

    def _mark(self, name: str, status: str, note: str) -> None:
        for f in self._fields(name):
            self.report.mark(self._path(name), f, status, note)

    def honoured(self, name: str, note: str = "") -> None:
        self._mark(name, HONOURED, note)

    def approximated(self, name: str, note: str) -> None:
        self._mark(name, APPROXIMATED, note)

    def not_supported(self, name: str, note: str) -> None:
        self._mark(name, NOT_SUPPORTED, note)

    def honoured_if_default(self, name: str, default, note: str,
                            otherwise: str) -> None:
        """Marks `name` honoured (`note`) when its value is `default` (or it
        is absent), else not supported (`otherwise`)."""
        if self.value(name, default) == default:
            self.honoured(name, note)
        else:
            self.not_supported(name, otherwise)

    def mark_self(self, status: str, note: str) -> None:
        """Marks this message as a whole (its field in the parent)."""
        if self.message is None:
            return
        if self.field is not None:
            self.report.mark(self.path, self.field, status, note)
        else:
            self.report.mark(self.path, None, status, note,
                             line=self.message.line)
        # The message's fields are covered: mark them so finish skips them.
        for f in self.message.fields:
            self.report._marked.add(id(f))

    def rest(self, status: str, note: str) -> None:
        """Marks every field of this message not yet marked."""
        if self.message is None:
            return
        for f in self.message.fields:
            if not self.report.is_marked(f):
                self.report.mark(self._path(f.name), f, status, note)

    def not_supported_rest(self, note: str) -> None:
        self.rest(NOT_SUPPORTED, note)


def set_dotted(tree: dict, key: str, value) -> None:
    """`tree["a"]["b"] = value` for `key` "a.b", creating the dicts between."""
    *parents, leaf = key.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def get_dotted(tree: dict, key: str, default=None):
    """`tree["a"]["b"]` for `key` "a.b"; `default` when a part is absent."""
    for part in key.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return default
        tree = tree[part]
    return tree


def check_placeholders(root: Message, source: str = "<string>",
                       skip=()) -> None:
    """ONE ValueError naming every field that still holds
    PATH_TO_BE_CONFIGURED (the OD API samples' placeholder), but those at
    the dotted paths `skip` (fields the caller does not read)."""
    found: list[str] = []

    def walk(message: Message, prefix: str) -> None:
        for f in message.fields:
            path = f"{prefix}.{f.name}" if prefix else f.name
            if path in skip:
                continue
            if isinstance(f.value, Message):
                walk(f.value, path)
            elif isinstance(f.value, str) and PLACEHOLDER in f.value:
                found.append(f"{path} (line {f.line}: {f.value!r})")

    walk(root, "")
    if found:
        raise ValueError(
            f"{source}: Expected every {PLACEHOLDER} to be filled in (edit "
            f"the file, or --set FIELD=VALUE; --set FIELD= removes a field). "
            f"Received {len(found)} still to fill: " + "; ".join(found))


def resolve_path(text: str, config_dir: str | os.PathLike | None,
                 where: str = "") -> str:
    """A path from the config: `~` expanded; relative ones resolved against
    the config file's folder (globs are kept as they are).

    A relative path that names nothing in the config's folder but names
    something in the current folder is taken from the current folder, with
    a note on stderr (`where`: the field's `source:line`): that is where the
    OD API's `model_main` reads it, and its TF2 tutorial runs from the
    workspace folder with `pipeline.config` one level down in
    `models/NAME/`. A path that names nothing in either folder resolves
    against the config's folder, with a note naming the field and both
    folders, so a later "no such file" leads back to the line."""
    path = os.path.expanduser(text)
    if config_dir is None or os.path.isabs(path):
        return path
    beside = os.path.normpath(os.path.join(str(config_dir), path))
    if _names_something(beside):
        return beside
    here = os.path.abspath(path)
    if _names_something(path):
        _note(f"{where + ': ' if where else ''}note: {text!r} is not in the "
              f"config's folder {config_dir}; using {here} (relative to the "
              "current folder, as the OD API reads it)")
        return here
    # Named nowhere (a typo, or data not made yet): whatever later fails
    # on `beside` should be traceable to this field and both folders.
    folders = (f"the current folder {os.getcwd()}"
               if os.path.abspath(config_dir) == os.getcwd() else
               f"the config's folder {config_dir} nor in the current folder "
               f"{os.getcwd()}")
    _note(f"{where + ': ' if where else ''}note: {text!r} names nothing in "
          f"{folders}; using {beside}")
    return beside


def _note(note: str) -> None:
    if note not in _PRINTED_NOTES:  # a config is often read twice
        _PRINTED_NOTES.add(note)
        print(note, file=sys.stderr)


_PRINTED_NOTES: set = set()


def _names_something(path: str) -> bool:
    """A file, folder or glob match, or a TF checkpoint prefix."""
    return bool(glob.glob(path)) or os.path.exists(path + ".index")


def config_dir_of(path: str | os.PathLike | None) -> Path | None:
    return None if path is None else Path(path).resolve().parent
