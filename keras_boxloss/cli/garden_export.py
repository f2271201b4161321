"""`keras-boxloss garden-export`: a SavedModel from a Model Garden checkpoint.

The flags are those of Model Garden's `export_saved_model` (plus
`--overwrite`); the SavedModel is what the TF OD API's `exporter_main_v2.py`
writes: callable, `serving_default` on `input_tensor`, OD API outputs with
`detection_boxes` normalised to the original image
(`keras_boxloss.model_garden.export`). Written to `EXPORT_DIR/saved_model`.

Its flags keep Model Garden's names (`--export_dir`, `--checkpoint_path`,
underscores) so that Model Garden's command lines work here as they are;
`--input_image_size` reads the one image-size syntax of every command,
`HxW` or one number, and Model Garden's `H,W` too.
"""

import argparse


def _image_size(text):
    from keras_boxloss.cli.options import parse_image_size

    # H,W is Model Garden's own spelling of this flag: no warning here.
    return list(parse_image_size(text, comma_deprecated=False))


def add_arguments(parser):
    parser.epilog = (
        "These are the flags of Model Garden's export_saved_model (its "
        "names, underscores and all), so its command lines work as they "
        "are; --overwrite is ours.")
    parser.add_argument("--experiment", required=True,
                        help="experiment, e.g. fasterrcnn_resnetfpn_boxloss")
    parser.add_argument("--config_file", action="append", default=[],
                        help="YAML config or a TF OD API Faster R-CNN "
                             "pipeline.config (repeatable, applied in "
                             "order)")
    parser.add_argument("--params_override", default="",
                        help="overrides applied after the config files")
    parser.add_argument("--checkpoint_path", required=True,
                        help="checkpoint file or model_dir (its latest)")
    parser.add_argument("--export_dir", required=True,
                        help="output folder (SavedModel in saved_model/)")
    parser.add_argument("--batch_size", type=int, default=None,
                        help="fixed batch size (default: any)")
    parser.add_argument("--input_type", default="image_tensor",
                        choices=("image_tensor",
                                 "encoded_image_string_tensor",
                                 "image_bytes", "tf_example"),
                        help="serving_default's input_tensor, as "
                             "exporter_main_v2.py's --input_type: uint8 "
                             "images, encoded image strings "
                             "(encoded_image_string_tensor, or Model "
                             "Garden's name image_bytes) or serialized "
                             "tf.train.Example strings (default: "
                             "image_tensor)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a non-empty existing --export_dir")
    parser.add_argument("--input_image_size", type=_image_size,
                        default=None, metavar="HxW",
                        help="model input size, HEIGHTxWIDTH or one number "
                             "(Model Garden's HEIGHT,WIDTH too) (default: "
                             "the config's)")


def run(args: argparse.Namespace) -> int:
    from keras_boxloss.cli.errors import require_model_garden

    require_model_garden("garden-export")  # not a bare ImportError below
    from keras_boxloss.model_garden.export import export, load_params

    import tempfile

    from keras_boxloss.model_garden.odapi_config import imported_config_files

    # A TF OD API pipeline.config is imported first (params are read whole).
    with tempfile.TemporaryDirectory() as folder:
        config_files = imported_config_files(args.config_file, folder)
        params = load_params(args.experiment, config_files,
                             args.params_override)
    path = export(params, args.checkpoint_path, args.export_dir,
                  batch_size=args.batch_size,
                  input_image_size=args.input_image_size,
                  input_type=args.input_type, overwrite=args.overwrite)
    print(f"Wrote {path}: serving_default and the loaded object itself take "
          f"input_tensor ({args.input_type})")
    return 0
