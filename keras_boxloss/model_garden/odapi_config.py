"""A TF OD API Faster R-CNN pipeline.config as a Model Garden experiment
config: `keras_boxloss.odapi.faster_rcnn` maps it to a plain dict of
overrides (without Model Garden); here they are applied to
`fasterrcnn_resnetfpn_boxloss` strictly (a key Model Garden lacks is an
error) and the result validated, so a mapping error shows before training.
"""

import os

from official.core import exp_factory
from official.modeling import hyperparams

from keras_boxloss.model_garden import configs, registry_imports  # noqa: F401

IMPORTED_YAML = "pipeline_garden.yaml"


def params_from_overrides(overrides, params_override=""):
    """The experiment config with `overrides` (nested dict) and then a
    `--params_override` string applied strictly; validated, unlocked."""
    params = exp_factory.get_exp_config(configs.EXPERIMENT)
    params.override(overrides, is_strict=True)
    if params_override:
        params = hyperparams.override_params_dict(params, params_override,
                                                  is_strict=True)
    configs.check_box_loss_configs(params.task)
    params.validate()
    return params


def import_pipeline(path, output_dir, overrides=(), echo=print):
    """Maps the pipeline.config at `path` (with `--set` `overrides` in its
    own dotted names), checks the result against Model Garden, writes it
    as `output_dir/pipeline_garden.yaml` (with the mapping as comments) and
    returns that path. The field accounting (what was approximated or is
    not supported) goes to `echo`."""
    from keras_boxloss.atomic_files import write_text
    from keras_boxloss.odapi.convert import import_pipeline as import_odapi
    from keras_boxloss.odapi.pipeline import load_pipeline

    # the kind first (no path checks), so an SSD config gets this error
    kind = load_pipeline(path, overrides, check_paths=False).kind
    if kind != "faster_rcnn":
        raise ValueError(f"Expected a Faster R-CNN pipeline config "
                         f"(model {{ faster_rcnn {{ }} }}) for Model Garden. "
                         f"Received: {path} with model {kind}")
    imported = import_odapi(path, overrides)
    params_from_overrides(imported.values)
    os.makedirs(output_dir, exist_ok=True)
    target = write_text(os.path.join(output_dir, IMPORTED_YAML),
                        imported.yaml_text, overwrite=True)
    echo(_summary(imported.report))
    return target


def _summary(report):
    """The accounting as `import-config` prints it: counts, then each
    approximated or unsupported field."""
    import io

    from keras_boxloss.odapi.convert import print_report

    text = io.StringIO()
    print_report(report, file=text)
    return text.getvalue().rstrip()


def _flag_value(argv, name):
    """(index, value) of `--name=value` or `--name value` in argv."""
    for index, arg in enumerate(argv):
        if arg.startswith(f"--{name}="):
            return index, arg.split("=", 1)[1]
        if arg == f"--{name}" and index + 1 < len(argv):
            return index, argv[index + 1]
    return None, None


def imported_flags(argv, echo=print):
    """Model Garden flags with a `--config_file` that is a TF OD API
    pipeline.config replaced by its import (written to the model_dir)."""
    from keras_boxloss.odapi.pipeline import is_pipeline_file

    argv = list(argv)
    index, path = _flag_value(argv, "config_file")
    if index is None or not is_pipeline_file(path):
        return argv
    _, model_dir = _flag_value(argv, "model_dir")
    if not model_dir:
        return argv  # Model Garden reports the missing --model_dir
    target = import_pipeline(path, model_dir, echo=echo)
    if argv[index] == "--config_file":
        argv[index + 1] = target
    else:
        argv[index] = f"--config_file={target}"
    return argv


def imported_config_files(config_files, output_dir, echo=print):
    """`--config_file` values with each TF OD API pipeline.config replaced
    by its import, written to `output_dir` (garden-export)."""
    from keras_boxloss.odapi.pipeline import is_pipeline_file

    return [import_pipeline(path, output_dir, echo=echo)
            if is_pipeline_file(path) else path
            for path in config_files or ()]
