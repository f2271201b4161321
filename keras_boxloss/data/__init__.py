"""Detection data: TF OD API records, converters, the messy-data policy, the
generated default dataset and the tf.data input pipeline.

Modules import TensorFlow and Pillow only inside the functions that need
them, so importing this package stays light.
"""
