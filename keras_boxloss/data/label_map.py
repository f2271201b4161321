"""Label maps: class id <-> name, stored as the TF OD API's `.pbtxt`.

```
item {
  id: 1
  name: 'raccoon'
}
```

Id 0 is the background and never appears in a label map.
"""

import re

_ITEM = re.compile(r"item\s*\{(.*?)\}", re.S)
_FIELD = re.compile(
    r"""(\w+)\s*:\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(-?\d+))""")
_ESCAPE = re.compile(r"\\(.)")


def label_map_from_names(names):
    """`{id: name}` with ids 1..K in sorted name order."""
    return {i + 1: name for i, name in enumerate(sorted(set(names)))}


def validate_label_map(label_map, where="the label map"):
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


def format_label_map(label_map):
    """The `.pbtxt` text of `{id: name}`."""
    items = []
    for class_id in sorted(label_map):
        name = str(label_map[class_id]).replace("\\", "\\\\").replace(
            "'", "\\'")
        items.append(f"item {{\n  id: {class_id}\n  name: '{name}'\n}}\n")
    return "".join(items)


def write_label_map(label_map, path):
    validate_label_map(label_map)
    with open(path, "w", encoding="utf-8") as file:
        file.write(format_label_map(label_map))
    return path


def parse_label_map(text, where="the label map"):
    """`{id: name}` from `.pbtxt` text (`name`, else `display_name`)."""
    label_map = {}
    for index, item in enumerate(_ITEM.findall(text)):
        fields = {}
        for key, double, single, number in _FIELD.findall(item):
            fields[key] = (int(number) if number else
                           _ESCAPE.sub(r"\1", double or single))
        name = fields.get("name", fields.get("display_name"))
        if not isinstance(fields.get("id"), int) or name is None:
            raise ValueError(f"Expected an integer id and a name in item "
                             f"{index} of {where}. Received: {item.strip()!r}")
        if fields["id"] in label_map:
            raise ValueError(f"Expected unique ids in {where}. Received: "
                             f"id {fields['id']} twice")
        label_map[fields["id"]] = name
    if not label_map:
        raise ValueError(f"Expected at least one `item {{ id: .. name: .. }}` "
                         f"in {where}. Received: no items")
    return validate_label_map(label_map, where)


def read_label_map(path):
    with open(path, encoding="utf-8") as file:
        return parse_label_map(file.read(), where=str(path))
