"""Box losses: a function and a registered `keras.losses.Loss` per loss."""

from keras_boxloss.losses.box_loss import BoxLoss
from keras_boxloss.losses.ciou_loss import CIoU, ciou
from keras_boxloss.losses.diou_loss import DIoU, diou
from keras_boxloss.losses.giou_loss import GIoU, giou
from keras_boxloss.losses.huber_box_loss import HuberBox, huber_box
from keras_boxloss.losses.iou_loss import IoU, iou
from keras_boxloss.losses.multibox_loss import MultiBox, multibox
from keras_boxloss.losses.smooth_iou_loss import SmoothIoU, smooth_iou
from keras_boxloss.losses.yolo_v1_loss import YOLOv1, yolo_v1

__all__ = [
    "BoxLoss",
    "CIoU", "ciou",
    "DIoU", "diou",
    "GIoU", "giou",
    "HuberBox", "huber_box",
    "IoU", "iou",
    "MultiBox", "multibox",
    "SmoothIoU", "smooth_iou",
    "YOLOv1", "yolo_v1",
]
