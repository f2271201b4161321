"""SavedModel export with the TF Object Detection API's serving signatures.

`serving_default` takes a uint8 image batch `(B, H, W, 3)` of any size;
`serving_encoded` takes encoded JPEG or PNG strings `(B,)`. Both return
`detection_boxes` (normalised ymin, xmin, ymax, xmax of the input image),
`detection_scores`, `detection_classes` (label-map ids) and
`num_detections`. The model resizes by stretching (`resize_mode: fixed`),
so boxes normalised on its canvas are normalised on the input image too.
Loading needs TensorFlow only: `tf.saved_model.load(path)`.
"""

from pathlib import Path


def export_saved_model(model, config, output, **nms_kwargs):
    import keras
    import tensorflow as tf

    from keras_boxloss.training.predict import detect

    if config.data.resize_mode != "fixed":
        raise ValueError("Expected data.resize_mode='fixed' for export (the "
                         "serving signature stretches images). Received: "
                         f"resize_mode={config.data.resize_mode!r}")
    size = config.model.image_size

    def from_images(images):
        resized = tf.image.resize(tf.cast(images, tf.float32), (size, size))
        return detect(model, resized, **nms_kwargs)

    def from_encoded(encoded):
        def decode(one):
            image = tf.io.decode_image(one, channels=3,
                                       expand_animations=False)
            image.set_shape([None, None, 3])
            return tf.image.resize(tf.cast(image, tf.float32), (size, size))
        images = tf.map_fn(decode, encoded,
                           fn_output_signature=tf.TensorSpec(
                               (size, size, 3), tf.float32))
        return detect(model, images, **nms_kwargs)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", from_images, input_signature=[
        tf.TensorSpec((None, None, None, 3), tf.uint8, name="images")])
    archive.add_endpoint("serving_encoded", from_encoded, input_signature=[
        tf.TensorSpec((None,), tf.string, name="encoded_images")])
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    archive.write_out(str(output), verbose=False)
    return str(output)
