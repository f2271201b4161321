"""Plain NumPy float64 versions of the box losses, written from the papers'
formulas one box at a time, independently of the library's tensor code.
The tests compare the library against these and finite-difference them."""

import math

import numpy as np


def area(box):
    x1, y1, x2, y2 = box
    return max(x2 - x1, 0.0) * max(y2 - y1, 0.0)


def iou(t, p, eps=1e-7):
    iw = max(min(t[2], p[2]) - max(t[0], p[0]), 0.0)
    ih = max(min(t[3], p[3]) - max(t[1], p[1]), 0.0)
    inter = iw * ih
    return inter / (area(t) + area(p) - inter + eps)


def enclosing_area(t, p):
    return area((min(t[0], p[0]), min(t[1], p[1]),
                 max(t[2], p[2]), max(t[3], p[3])))


def iou_loss(t, p, eps=1e-7):
    return 1.0 - iou(t, p, eps)


def giou_loss(t, p, eps=1e-7):
    iw = max(min(t[2], p[2]) - max(t[0], p[0]), 0.0)
    ih = max(min(t[3], p[3]) - max(t[1], p[1]), 0.0)
    union = area(t) + area(p) - iw * ih
    c = enclosing_area(t, p)
    return 1.0 - iou(t, p, eps) + (c - union) / (c + eps)


def diou_loss(t, p, eps=1e-7):
    cw = max(t[2], p[2]) - min(t[0], p[0])
    ch = max(t[3], p[3]) - min(t[1], p[1])
    rho2 = (((t[0] + t[2]) - (p[0] + p[2])) / 2) ** 2 + (
        ((t[1] + t[3]) - (p[1] + p[3])) / 2) ** 2
    return 1.0 - iou(t, p, eps) + rho2 / (cw**2 + ch**2 + eps)


def aspect_v(t, p, eps=1e-7):
    wt, ht = max(t[2] - t[0], 0.0), max(t[3] - t[1], 0.0)
    wp, hp = max(p[2] - p[0], 0.0), max(p[3] - p[1], 0.0)
    return 4 / math.pi**2 * (math.atan(wt / (ht + eps))
                             - math.atan(wp / (hp + eps))) ** 2


def ciou_loss(t, p, eps=1e-7, alpha=None):
    v = aspect_v(t, p, eps)
    if alpha is None:
        alpha = v / (1 - iou(t, p, eps) + v + eps)
    return diou_loss(t, p, eps) + alpha * v


def huber_box(t, p, delta=1.0):
    total = 0.0
    for a, b in zip(t, p):
        x = abs(b - a)
        total += 0.5 * x * x if x <= delta else delta * (x - 0.5 * delta)
    return total


def smooth_iou(ts, ps, delta=1.0, eps=1e-7):
    ious = [iou(t, p, eps) for t, p in zip(ts, ps)]
    lam = sum(ious) / len(ious)
    return [lam * (1 - i) + (1 - lam) * huber_box(t, p, delta)
            for t, p, i in zip(ts, ps, ious)]


def enclosing_size(t, p):
    """(C_w, C_h) of the enclosing box of two ordered boxes."""
    return (max(t[2], p[2]) - min(t[0], p[0]),
            max(t[3], p[3]) - min(t[1], p[1]))


def centre_offset(t, p):
    return ((p[0] + p[2]) / 2 - (t[0] + t[2]) / 2,
            (p[1] + p[3]) / 2 - (t[1] + t[3]) / 2)


def eiou_loss(t, p, eps=1e-7):
    cw, ch = enclosing_size(t, p)
    dw = (p[2] - p[0]) - (t[2] - t[0])
    dh = (p[3] - p[1]) - (t[3] - t[1])
    return diou_loss(t, p, eps) + dw**2 / (cw**2 + eps) + dh**2 / (ch**2 + eps)


def focal_eiou_loss(t, p, gamma=0.5, eps=1e-7):
    return iou(t, p, eps) ** gamma * eiou_loss(t, p, eps)


def siou_loss(t, p, theta=4.0, eps=1e-7):
    """The paper's SIoU with its arcsin form of the angle cost."""
    dx, dy = centre_offset(t, p)
    sigma = math.hypot(dx, dy)
    angle = (1 - 2 * math.sin(math.asin(abs(dy) / sigma) - math.pi / 4) ** 2
             if sigma > 0 else 0.0)
    gamma = 2 - angle
    cw, ch = enclosing_size(t, p)
    distance = sum(1 - math.exp(-gamma * r)
                   for r in ((dx / cw) ** 2, (dy / ch) ** 2))
    wt, ht = t[2] - t[0], t[3] - t[1]
    wp, hp = p[2] - p[0], p[3] - p[1]
    shape = sum((1 - math.exp(-abs(a - b) / max(a, b))) ** theta
                for a, b in ((wp, wt), (hp, ht)))
    return 1 - iou(t, p, eps) + (distance + shape) / 2


def alpha_iou_loss(t, p, alpha=3.0, penalty="iou", eps=1e-7):
    loss = 1 - iou(t, p, eps) ** alpha
    if penalty == "giou":
        # GIoU's penalty |C \\ (A u B)| / |C| is giou_loss - iou_loss
        loss += (giou_loss(t, p, eps) - iou_loss(t, p, eps)) ** alpha
    if penalty in ("diou", "ciou"):
        loss += (diou_loss(t, p, eps) - iou_loss(t, p, eps)) ** alpha
    if penalty == "ciou":
        v = aspect_v(t, p, eps)
        beta = v / (1 - iou(t, p, eps) + v)
        loss += (beta * v) ** alpha
    return loss


def wiou_loss(t, p, version=1, iou_loss_mean=None, alpha=1.9, delta=3.0,
              eps=1e-7):
    cw, ch = enclosing_size(t, p)
    dx, dy = centre_offset(t, p)
    loss = math.exp((dx**2 + dy**2) / (cw**2 + ch**2)) * iou_loss(t, p, eps)
    if version == 3:
        beta = iou_loss(t, p, eps) / iou_loss_mean
        loss *= beta / (delta * alpha ** (beta - delta))
    return loss


PER_BOX = {"iou": iou_loss, "giou": giou_loss, "diou": diou_loss,
           "ciou": ciou_loss, "huber": huber_box}
PER_BOX.update(eiou=eiou_loss, focal_eiou=focal_eiou_loss, siou=siou_loss,
               alpha_iou=alpha_iou_loss, wiou=wiou_loss)


def per_box(name, ts, ps):
    fn = PER_BOX[name]
    return np.array([fn(tuple(t), tuple(p)) for t, p in zip(ts, ps)])


def encode_deltas(boxes, anchors, scale=(10.0, 10.0, 5.0, 5.0)):
    """xyxy boxes against yxyx anchors -> [ty, tx, th, tw] (TF OD API)."""
    out = []
    for (x1, y1, x2, y2), (ay1, ax1, ay2, ax2) in zip(boxes, anchors):
        ha, wa = ay2 - ay1, ax2 - ax1
        out.append([
            ((y1 + y2) / 2 - (ay1 + ay2) / 2) / ha * scale[0],
            ((x1 + x2) / 2 - (ax1 + ax2) / 2) / wa * scale[1],
            math.log((y2 - y1) / ha) * scale[2],
            math.log((x2 - x1) / wa) * scale[3],
        ])
    return np.array(out)


def from_xyxy(boxes, fmt):
    """xyxy -> another format, by the formats' definitions."""
    x1, y1, x2, y2 = np.moveaxis(np.asarray(boxes, "float64"), -1, 0)
    w, h = x2 - x1, y2 - y1
    cx, cy = x1 + w / 2, y1 + h / 2
    columns = {
        "xyxy": (x1, y1, x2, y2), "yxyx": (y1, x1, y2, x2),
        "xywh": (x1, y1, w, h), "center_xywh": (cx, cy, w, h),
        "center_yxhw": (cy, cx, h, w), "yxhw": (y1, x1, h, w),
    }[fmt]
    return np.stack(columns, axis=-1)


def numeric_grad(fn, x, h=1e-6):
    """Central finite differences of scalar fn at float64 array x."""
    x = np.array(x, dtype="float64")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        grad[index] = (fn(x + step) - fn(x - step)) / (2 * h)
    return grad


# Issue 18: Balanced L1, NWD, MPDIoU, Inner-IoU, Shape-IoU, from the papers'
# formulas (Shape-IoU's weights as the paper's powers, not the library's
# sigmoid form).

def sides(box):
    """(cx, cy, w, h) of an xyxy box, sizes clamped at 0."""
    x1, y1, x2, y2 = box
    return ((x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, 0.0),
            max(y2 - y1, 0.0))


def balanced_l1(t, p, alpha=0.5, gamma=1.5, beta=1.0):
    """Libra R-CNN eq. 9 at knee beta, as beta L_b(x / beta), summed."""
    b = math.exp(gamma / alpha) - 1
    total = 0.0
    for a, c in zip(t, p):
        u = abs(c - a) / beta
        if u < 1:
            # alpha / b ((b u + 1) ln(b u + 1) - b u); below s = 1e-3 by its
            # series, as written directly it cancels (float64 keeps 2 eps / s)
            s = b * u
            piece = ((1 + s) * math.log1p(s) - s if s >= 1e-3
                     else s * s * (0.5 - s * (1 / 6 - s / 12)))
            total += beta * alpha / b * piece
        else:
            total += beta * (gamma * u + gamma / b - alpha)
    return total


def nwd_loss(t, p, constant=12.8):
    (cxt, cyt, wt, ht), (cxp, cyp, wp, hp) = sides(t), sides(p)
    w2 = ((cxt - cxp) ** 2 + (cyt - cyp) ** 2
          + ((wt - wp) / 2) ** 2 + ((ht - hp) / 2) ** 2)
    return 1.0 - math.exp(-math.sqrt(w2) / constant)


def mpdiou_loss(t, p, image_size=(1.0, 1.0), eps=1e-7):
    h, w = image_size
    d1 = (t[0] - p[0]) ** 2 + (t[1] - p[1]) ** 2
    d2 = (t[2] - p[2]) ** 2 + (t[3] - p[3]) ** 2
    return 1.0 - iou(t, p, eps) + d1 / (w * w + h * h) + d2 / (w * w + h * h)


def inner_iou_loss(t, p, ratio=0.75, base="iou", eps=1e-7):
    def inner(box):
        cx, cy, w, h = sides(box)
        return (cx - ratio * w / 2, cy - ratio * h / 2,
                cx + ratio * w / 2, cy + ratio * h / 2)

    return (PER_BOX[base](t, p, eps=eps) + iou(t, p, eps)
            - iou(inner(t), inner(p), eps))


def shape_iou_loss(t, p, scale=0.0, eps=1e-7):
    (cxt, cyt, wt, ht), (cxp, cyp, wp, hp) = sides(t), sides(p)
    ww = 2 * wt**scale / (wt**scale + ht**scale)
    hh = 2 * ht**scale / (wt**scale + ht**scale)
    cw = max(t[2], p[2]) - min(t[0], p[0])
    ch = max(t[3], p[3]) - min(t[1], p[1])
    distance = (hh * (cxp - cxt) ** 2 + ww * (cyp - cyt) ** 2) / (cw**2
                                                                  + ch**2)
    omega_w = hh * abs(wp - wt) / max(wp, wt)
    omega_h = ww * abs(hp - ht) / max(hp, ht)
    cost = (1 - math.exp(-omega_w)) ** 4 + (1 - math.exp(-omega_h)) ** 4
    return 1.0 - iou(t, p, eps) + distance + 0.5 * cost


PER_BOX.update(balanced_l1=balanced_l1, nwd=nwd_loss, mpdiou=mpdiou_loss,
               inner_iou=inner_iou_loss, shape_iou=shape_iou_loss)
