"""`--set FIELD=VALUE` takes a text-format value: an unquoted path fails,
and the error says how to quote it."""

import pytest

from keras_boxloss.odapi.pipeline import load_pipeline

TEXT = """model { ssd { num_classes: 3 } }
train_input_reader {
  tf_record_input_reader { input_path: "a.record" }
}
"""
KEY = "train_input_reader.tf_record_input_reader.input_path"


def test_an_unquoted_string_gets_a_quoting_hint():
    with pytest.raises(ValueError) as error:
        load_pipeline(text=TEXT, overrides=[f"{KEY}=data/train.record"],
                      check_paths=False)
    message = str(error.value)
    assert message.startswith(f"Expected --set {KEY}=VALUE in protobuf text "
                              "format. Received: 'data/train.record' (")
    assert message.endswith(
        f"; a string goes in quotes: --set '{KEY}=\"data/train.record\"'")
    pipe = load_pipeline(text=TEXT, overrides=[f'{KEY}="data/train.record"'],
                         check_paths=False)
    reader = pipe.root.get("train_input_reader").get(
        "tf_record_input_reader")
    assert reader.get("input_path") == "data/train.record"


def test_a_bad_message_value_gets_no_quoting_hint():
    with pytest.raises(ValueError) as error:
        load_pipeline(text=TEXT, overrides=[
            "model.ssd.loss.localization_loss={ weighted_giou {"],
            check_paths=False)
    assert "goes in quotes" not in str(error.value)
