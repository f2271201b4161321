"""A TF OD API pipeline.config -> the project's config.

- `import_pipeline(path, overrides)`: parse, apply `--set`, check names and
  placeholders, map (`model.ssd` here, `model.faster_rcnn` in
  odapi/faster_rcnn.py), account for every field. Returns `Imported`.
- `load_detector_config(path, overrides)`: the `DetectorConfig` of an SSD
  pipeline (what `training.config.load_config` returns for one), printing
  the approximated and unsupported fields; `detector_config(imported,
  path)` the same from an `Imported` already in hand.
- `imported_yaml(imported)`: the equivalent project YAML, the mapping as
  comments; `write_yaml(imported, output, overwrite)` writes it atomically.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field as dataclass_field

from keras_boxloss.atomic_files import write_text
from keras_boxloss.odapi.accounting import (APPROXIMATED, HONOURED,
                                            NOT_SUPPORTED, Report, Section,
                                            check_placeholders)
from keras_boxloss.odapi.pipeline import Pipeline, load_pipeline
from keras_boxloss.odapi.ssd import Target, map_ssd


@dataclass
class Imported:
    kind: str                 # "ssd" | "faster_rcnn"
    values: dict              # ours (ssd) / Model Garden overrides (frcnn)
    report: Report
    pipeline: Pipeline
    origins: dict = dataclass_field(default_factory=dict)
    yaml_text: str = ""       # faster_rcnn: the mapping's commented YAML


def import_pipeline(path, overrides=(), for_training: bool = True
                    ) -> Imported:
    """`for_training=False`: read to evaluate or export; the
    training-only fields (`train_config.TRAINING_ONLY`) are not checked."""
    from keras_boxloss.odapi.train_config import TRAINING_ONLY_PLACEHOLDERS

    pipe = load_pipeline(path, overrides, check_paths=False)
    # an architecture we do not map is said before its paths are asked for
    kind = check_mapped_kind(pipe)
    check_placeholders(pipe.root, pipe.source, () if for_training
                       else TRAINING_ONLY_PLACEHOLDERS)
    report = Report(pipe.source)
    # top level, whichever the architecture
    Section(pipe.root, "", report).sub("graph_rewriter").mark_self(
        NOT_SUPPORTED, "no quantization-aware training: the model trains "
        "in float (`export --format tflite` writes a float TFLite model)")
    for key, line in pipe.removed:
        report.mark(key, None, HONOURED, f"removed by --set {key}= (was "
                    f"line {line})" if line else f"removed by --set {key}=",
                    line=line)
    if kind == "ssd":
        from keras_boxloss.odapi.train_config import (map_input_readers,
                                                      map_train_config)

        target = Target()
        map_ssd(pipe, report, target)
        map_train_config(pipe, report, target, for_training)
        map_input_readers(pipe, report, target)
        report.finish(pipe.root)
        _apply_own(target.values, pipe.own_overrides, target.origins)
        return Imported(kind, target.values, report, pipe, target.origins)
    # faster_rcnn, the other kind check_mapped_kind lets through
    try:
        from keras_boxloss.odapi import faster_rcnn
    except ImportError as error:
        raise ValueError(
            f"{pipe.source}: Expected the Faster R-CNN mapping "
            f"(keras_boxloss.odapi.faster_rcnn) to import. Received: "
            f"{error}") from None
    mapping = faster_rcnn.garden_mapping(
        pipe.root, pipe.config_dir, report, box_losses=pipe.box_losses)
    origins: dict = {}
    _apply_own(mapping.overrides, pipe.own_overrides, origins)
    for key, sources in origins.items():  # a --set wins its comment too
        mapping.comments[key] = ", ".join(sources)
    text = mapping.to_yaml(faster_rcnn.yaml_header(pipe.source))
    return Imported(kind, mapping.overrides, report, pipe, origins, text)


MAPPED_KINDS = ("ssd", "faster_rcnn")


def check_mapped_kind(pipe: Pipeline) -> str:
    """`pipe.kind` if keras-boxloss maps it, else a ValueError naming it."""
    if pipe.kind not in MAPPED_KINDS:
        raise ValueError(
            f"{pipe.source}: Expected model.ssd or model.faster_rcnn (the "
            f"architectures keras-boxloss maps). Received: "
            f"model.{pipe.kind}")
    return pipe.kind


def _apply_own(values: dict, overrides: list[str], origins: dict) -> None:
    """Our own dotted keys (`trainer.steps_per_epoch=10`) on the result."""
    import yaml

    for item in overrides:
        key, _, text = item.partition("=")
        node = values
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"Expected --set {key} to name a field. "
                                 f"Received: --set {item}")
        node[parts[-1]] = yaml.safe_load(text) if text else ""
        origins.setdefault(key, []).append(f"--set {item}")


def print_report(report: Report, file=None) -> None:
    """The approximated and unsupported fields, one line each, and a count."""
    file = file or sys.stdout
    counts = report.counts()
    print(f"Imported {report.source}: {counts[HONOURED]} fields honoured, "
          f"{counts[APPROXIMATED]} approximated, {counts[NOT_SUPPORTED]} not "
          "supported:", file=file)
    for entry in sorted(report.entries, key=lambda e: e.line):
        if entry.status != HONOURED:
            where = f"line {entry.line}" if entry.line else "--set"
            print(f"  {where}: {entry.path}: {entry.status}: {entry.note}",
                  file=file)


def load_detector_config(path, overrides=(), quiet: bool = False,
                         for_training: bool = True):
    """The `DetectorConfig` of an SSD pipeline.config (see the module
    docstring); a Faster R-CNN one is an error pointing at garden-train.
    `for_training=False`: as `import_pipeline`."""
    kind = check_mapped_kind(load_pipeline(path, overrides,
                                           check_paths=False))
    if kind != "ssd":
        raise ValueError(
            f"{path}: Expected an SSD pipeline config here (our Keras "
            f"detectors). Received: model.{kind}: a Faster R-CNN "
            f"runs in Model Garden: `keras-boxloss import-config {path} "
            "--output frcnn.yaml`, then `keras-boxloss garden-train "
            "--experiment=fasterrcnn_resnetfpn_boxloss --config_file="
            "frcnn.yaml --model_dir=DIR`, or `keras-boxloss compare "
            f"--config {path}`")
    imported = import_pipeline(path, overrides, for_training)
    if not quiet:
        print_report(imported.report)
    return detector_config(imported, path)


def detector_config(imported: Imported, path):
    """The checked `DetectorConfig` of an imported SSD pipeline."""
    from keras_boxloss.training import config as config_module

    try:
        config = config_module._build(config_module.DetectorConfig,
                                      imported.values, "<root>")
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    config_module._check(config, path)
    return config


# --- YAML output -------------------------------------------------------------

def _yaml_value(value) -> str:
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=10**6)
    text = text.strip()
    return text[:-4].strip() if text.endswith("\n...") else (
        text[:-3].strip() if text.endswith("...") else text)


def imported_yaml(imported: Imported) -> str:
    """The project YAML equivalent to the pipeline config, each value
    commented with the OD API field(s) it came from, and the whole
    accounting (per field: honoured / approximated: why / not supported:
    why) in the header."""
    if imported.kind != "ssd":
        return imported.yaml_text
    report = imported.report
    lines = [
        f"# Imported from the TF OD API pipeline config {report.source}",
        "# by `keras-boxloss import-config`. Train it with",
        "#   keras-boxloss train --config THIS.yaml --model-dir DIR",
        "# Every field of the pipeline config, by line:",
    ]
    for entry in sorted(report.entries, key=lambda e: e.line):
        where = f"line {entry.line}" if entry.line else "--set"
        note = f": {entry.note}" if entry.note else ""
        lines.append(f"#   {where}: {entry.path}: {entry.status}{note}")
    lines.append("# Not from the pipeline config: trainer.steps_per_epoch "
                 "(checkpoint and log interval), trainer.jit_compile (off "
                 "for MobileNets: XLA makes depthwise convolutions ~7x "
                 "slower on CPU; turn it on for GPUs).")
    lines.append("")
    for section, body in imported.values.items():
        if not isinstance(body, dict):
            origin = imported.origins.get(section)
            lines.append(f"{section}: {_yaml_value(body)}"
                         + (f"  # {', '.join(origin)}" if origin else ""))
            continue
        lines.append(f"{section}:")
        for key, value in body.items():
            origin = imported.origins.get(f"{section}.{key}")
            comment = f"  # {', '.join(origin)}" if origin else ""
            lines.append(f"  {key}: {_yaml_value(value)}{comment}")
    return "\n".join(lines) + "\n"


def write_yaml(imported: Imported, output, overwrite: bool = False) -> str:
    return write_text(output, imported_yaml(imported), overwrite)
