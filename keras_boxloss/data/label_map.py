"""Label maps: class id <-> name, stored as the TF OD API's `.pbtxt`.

```
item {
  id: 1
  name: 'raccoon'
  display_name: 'Raccoon'   # optional: what tables and plots show
}
```

Read with the project's protobuf text-format parser
(`keras_boxloss.odapi.text_format`), so the OD API's whole syntax comes
over: fields in any order, on one line or many, `#` comments anywhere,
either quote style, `item:` or `item`. The other fields of the OD API's
`StringIntLabelMapItem` (keypoints, frequency, ...) are ignored with a note;
a field the OD API does not know is an error naming its line. Id 0 is the
background: an `id: 0` item named `background`, which the OD API allows, is
skipped with a note; any other id 0 is an error.

`read_label_map` returns a `LabelMap`: a plain `{id: name}` dict (what the
records' `class/text` holds) that also knows each class's `display_name`.
"""

from __future__ import annotations

import sys

from keras_boxloss import atomic_files

# The label map's file name in a records folder (`keras-boxloss convert`
# writes it; the records' readers look for it beside the shards).
LABEL_MAP_FILE = "label_map.pbtxt"

# StringIntLabelMapItem fields box detection has no use for.
_IGNORED_ITEM_FIELDS = ("keypoints", "ancestor_ids", "descendant_ids",
                        "frequency", "instance_count")


class LabelMap(dict):
    """`{id: name}` plus `display_names` `{id: display name}` (the name
    where the label map gives no `display_name`)."""

    def __init__(self, names: dict, display_names: dict | None = None):
        super().__init__(names)
        shown = dict(display_names or {})
        self.display_names = {i: shown.get(i) or n for i, n in self.items()}

    def display_name(self, class_id: int) -> str:
        """The name to show for `class_id`; the id itself when unknown."""
        return str(self.display_names.get(int(class_id), int(class_id)))


def display_names(label_map: dict | None) -> dict:
    """`{id: shown name}` of any label map: a `LabelMap`'s display names, a
    plain dict's names, `{}` for `None`."""
    if label_map is None:
        return {}
    return dict(getattr(label_map, "display_names", label_map))


def label_map_from_names(names) -> dict:
    """`{id: name}` with ids 1..K in sorted name order."""
    return {i + 1: name for i, name in enumerate(sorted(set(names)))}


def validate_label_map(label_map: dict, where: str = "the label map") -> dict:
    """Checks ids are positive ints and names unique; returns `label_map`."""
    ids = list(label_map)
    if any(not isinstance(i, int) or i < 1 for i in ids):
        raise ValueError(f"Expected positive integer ids in {where} (0 is "
                         f"the background). Received: ids={ids}")
    names = list(label_map.values())
    if len(set(names)) != len(names):
        raise ValueError(f"Expected unique class names in {where}. "
                         f"Received: names={names}")
    return label_map


def _quoted(text: str) -> str:
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def format_label_map(label_map: dict) -> str:
    """The `.pbtxt` text of `{id: name}` (with a `LabelMap`'s display names
    where they differ from the names)."""
    shown = display_names(label_map)
    items = []
    for class_id in sorted(label_map):
        name = label_map[class_id]
        extra = ("" if shown.get(class_id, name) == name else
                 f"  display_name: {_quoted(shown[class_id])}\n")
        items.append(f"item {{\n  id: {class_id}\n  name: {_quoted(name)}\n"
                     f"{extra}}}\n")
    return "".join(items)


def write_label_map(label_map: dict, path) -> str:
    validate_label_map(label_map)
    atomic_files.write_text(path, format_label_map(label_map))
    return path


def _item(item, where: str, notes: list) -> tuple | None:
    """`(id, name, display_name, line)` of one `item { }` field; None for
    the OD API's optional `id: 0` background item."""
    from keras_boxloss.odapi.text_format import Message

    message = item.value
    if not isinstance(message, Message):
        raise ValueError(f"{where}:{item.line}: Expected `item {{ ... }}`. "
                         f"Received: item: {message!r}")
    for field in message.fields:
        if field.name in _IGNORED_ITEM_FIELDS:
            notes.append(f"{where}:{field.line}: note: `{field.name}` of the "
                         f"item ignored (box detection does not use it)")
        elif field.name not in ("id", "name", "display_name"):
            raise ValueError(
                f"{where}:{field.line}: Expected the fields of a label-map "
                f"item (id, name, display_name, {', '.join(_IGNORED_ITEM_FIELDS)}"
                f"). Received: {field.name}")
    values = {}
    for key, kind in (("id", int), ("name", str), ("display_name", str)):
        value = message.get(key)  # an error naming the line when repeated
        field = message.field(key)
        if value is not None and (not isinstance(value, kind)
                                  or isinstance(value, bool)):
            raise ValueError(f"{where}:{field.line}: Expected {key} to be "
                             f"{'an integer' if kind is int else 'a string'}"
                             f". Received: {key}={value!r}")
        values[key] = value
    if values["id"] is None:
        raise ValueError(f"{where}:{message.line}: Expected an `id` in the "
                         f"item. Received: an item without one")
    if values["id"] == 0 and "background" in (values["name"],
                                              values["display_name"]):
        notes.append(f"{where}:{message.line}: note: the id 0 'background' "
                     f"item skipped (the background is implicit)")
        return None
    if values["id"] < 1:
        raise ValueError(f"{where}:{message.field('id').line}: Expected a "
                         f"positive id (0 is the background). Received: "
                         f"id={values['id']}")
    # The OD API keys by `name`; a map with only display names is keyed by
    # them (as its `use_display_name` option does).
    name = values["name"] if values["name"] is not None else values[
        "display_name"]
    if not name:
        raise ValueError(f"{where}:{message.line}: Expected a `name` or "
                         f"`display_name` in the item with id "
                         f"{values['id']}. Received: none")
    return values["id"], name, values["display_name"], message.line


def parse_label_map(text: str, where: str = "the label map") -> LabelMap:
    """A `LabelMap` from `.pbtxt` text. Errors name `where` and the line:
    a duplicate id or name, id 0, a missing id, an unknown field."""
    from keras_boxloss.odapi.text_format import parse

    root = parse(text, where)
    for field in root.fields:
        if field.name != "item":
            raise ValueError(f"{where}:{field.line}: Expected `item {{ ... }}`"
                             f" blocks. Received: {field.name}")
    names, shown, seen_ids, seen_names, notes = {}, {}, {}, {}, []
    for field in root.fields:
        item = _item(field, where, notes)
        if item is None:
            continue
        class_id, name, display, line = item
        if class_id in seen_ids:
            raise ValueError(f"{where}:{line}: Expected unique ids. Received:"
                             f" id {class_id} again (first on line "
                             f"{seen_ids[class_id]})")
        if name in seen_names:
            raise ValueError(f"{where}:{line}: Expected unique class names. "
                             f"Received: name {name!r} again (first on line "
                             f"{seen_names[name]})")
        seen_ids[class_id], seen_names[name] = line, line
        names[class_id] = name
        if display is not None:
            shown[class_id] = display
    if not names:
        raise ValueError(f"Expected at least one `item {{ id: .. name: .. }}`"
                         f" in {where}. Received: no items")
    for note in notes:
        print(note, file=sys.stderr)
    return LabelMap(names, shown)


def read_label_map(path) -> LabelMap:
    """The `LabelMap` (`{id: name}` with display names) of a `.pbtxt`."""
    try:
        # utf-8-sig: a byte-order mark (Windows editors, and scripts that
        # write with utf-8-sig) is not part of the text
        with open(path, encoding="utf-8-sig") as file:
            text = file.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"No label map file {path}") from None
    return parse_label_map(text, where=str(path))


def find_label_map(pattern: str, path: str = "") -> tuple:
    """The label map of records `pattern`: `path` when given (a missing
    file is an error naming it), else `label_map.pbtxt` beside the first
    record file when there is one (`keras_boxloss.data.resolve`).

    Returns:
        `(LabelMap or None, the path or None)`.
    """
    from keras_boxloss.data.resolve import label_map_beside

    if path:
        return read_label_map(path), str(path)
    beside = label_map_beside(pattern)
    if beside is not None:
        return read_label_map(beside), beside
    return None, None
