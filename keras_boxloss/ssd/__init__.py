"""An SSD (Liu et al., 2016) in Keras 3, trained with the MultiBox loss.

TensorFlow only where it must be (NMS, tf.data, SavedModel export); the
model and its loss are `keras.ops`.
"""
