"""Box losses: a function and a registered `keras.losses.Loss` per loss."""

from keras_boxloss.losses.balanced_l1_loss import BalancedL1, balanced_l1
from keras_boxloss.losses.alpha_iou_loss import AlphaIoU, alpha_iou
from keras_boxloss.losses.box_loss import BoxLoss
from keras_boxloss.losses.ciou_loss import CIoU, ciou
from keras_boxloss.losses.diou_loss import DIoU, diou
from keras_boxloss.losses.eiou_loss import EIoU, FocalEIoU, eiou, focal_eiou
from keras_boxloss.losses.giou_loss import GIoU, giou
from keras_boxloss.losses.huber_box_loss import HuberBox, huber_box
from keras_boxloss.losses.inner_iou_loss import InnerIoU, inner_iou
from keras_boxloss.losses.iou_loss import IoU, iou
from keras_boxloss.losses.mpdiou_loss import MPDIoU, mpdiou
from keras_boxloss.losses.multibox_loss import MultiBox, multibox
from keras_boxloss.losses.nwd_loss import NWD, nwd
from keras_boxloss.losses.shape_iou_loss import ShapeIoU, shape_iou
from keras_boxloss.losses.siou_loss import SIoU, siou
from keras_boxloss.losses.smooth_iou_loss import SmoothIoU, smooth_iou
from keras_boxloss.losses.wiou_loss import WIoU, wiou
from keras_boxloss.losses.yolo_v1_loss import YOLOv1, yolo_v1

__all__ = [
    "AlphaIoU", "alpha_iou",
    "BalancedL1", "balanced_l1",
    "BoxLoss",
    "CIoU", "ciou",
    "DIoU", "diou",
    "EIoU", "eiou",
    "FocalEIoU", "focal_eiou",
    "GIoU", "giou",
    "HuberBox", "huber_box",
    "InnerIoU", "inner_iou",
    "IoU", "iou",
    "MPDIoU", "mpdiou",
    "MultiBox", "multibox",
    "NWD", "nwd",
    "ShapeIoU", "shape_iou",
    "SIoU", "siou",
    "SmoothIoU", "smooth_iou",
    "WIoU", "wiou",
    "YOLOv1", "yolo_v1",
]
