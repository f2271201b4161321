"""Imports every registration of the Model Garden plug-in, after Model
Garden's own (`official.vision.registry_imports`)."""

# pylint: disable=unused-import
from official.vision import registry_imports  # noqa: F401

from keras_boxloss.model_garden import configs, task  # noqa: F401
