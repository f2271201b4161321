"""Forward-mode derivatives of per-box values: the box losses' gradient.

`boxes.py` writes each per-box formula once, on tuples of `(..., 1)`
coordinate columns, through the functions here; given plain tensors they are
`keras.ops`, given a `Dual` they also carry the derivative. `lane_gradient`
evaluates a formula with the four coordinates of one box seeded as the four
lanes of a `(..., 4)` tangent, so the gradient of a per-box value w.r.t. a
`[..., 4]` box tensor comes out as one `[..., 4]` element-wise expression.

Why not reverse mode (autodiff): the gradient of splitting a box into
columns is a `concatenate`, and XLA's CPU emitter gives each of its 4
operands a branch inside the loop over boxes. Once the per-column backward
expression is more than a few dozen operations, LLVM no longer unrolls that
4-iteration loop, the branches stay, and the whole backward pass runs as
scalar code (GIoU: 0 vector instructions in its gradient kernel, IoU: 179;
see docs/benchmarks.md). The tangent lanes have no concatenate, so XLA
emits one branch-free loop, vectorised 4 wide (a box per SSE vector: the
lanes stay innermost; docs/benchmarks.md, "Fourth round").

Derivatives at kinks follow TensorFlow's autodiff, on every backend:
`minimum`/`maximum` pass the derivative to their first argument on a tie,
`relu` and `abs` have derivative 0 at 0.
"""

import contextlib
import math
import numbers
import threading

import keras
from keras import ops


class Dual:
    """A per-box value `(..., 1)` and its derivative w.r.t. the 4 coordinates
    of one box, `(..., 4)` or broadcastable to it (`None`: a constant)."""

    # NumPy arrays on the left defer to our reflected operators.
    __array_priority__ = 1000

    def __init__(self, value, tangent):
        self.value = value
        self.tangent = tangent

    def __add__(self, other):
        return Dual(self.value + value(other),
                    _add(self.tangent, tangent(other)))

    __radd__ = __add__

    def __sub__(self, other):
        return Dual(self.value - value(other),
                    _add(self.tangent, _scale(tangent(other), -1.0)))

    def __rsub__(self, other):
        return Dual(value(other) - self.value,
                    _add(tangent(other), _scale(self.tangent, -1.0)))

    def __neg__(self):
        return Dual(-self.value, _scale(self.tangent, -1.0))

    def __mul__(self, other):
        return Dual(self.value * value(other),
                    _add(_scale(self.tangent, value(other)),
                         _scale(tangent(other), self.value)))

    __rmul__ = __mul__

    def __truediv__(self, other):
        quotient = self.value / value(other)
        return Dual(quotient, _scale(
            _add(self.tangent, _scale(tangent(other), -quotient)),
            1.0 / value(other)))

    def __rtruediv__(self, other):
        quotient = value(other) / self.value
        return Dual(quotient, _scale(
            _add(tangent(other), _scale(self.tangent, -quotient)),
            1.0 / self.value))


def value(x):
    """The value of a `Dual`, or `x` itself."""
    return x.value if isinstance(x, Dual) else x


def tangent(x):
    """The derivative of a `Dual`, or None (a constant)."""
    return x.tangent if isinstance(x, Dual) else None


def _add(a, b):
    if a is None:
        return b
    return a if b is None else a + b


def _scale(t, factor):
    return None if t is None else t * factor


def _chain(x, result, derivative):
    """`result` (a value computed from x's value), with x's tangent times
    `derivative` when x is a `Dual`."""
    if not isinstance(x, Dual):
        return result
    return Dual(result, _scale(x.tangent, derivative))


def _select(condition, a, b):
    """`where` on values; the derivative of the chosen one."""
    result = ops.where(condition, value(a), value(b))
    ta, tb = tangent(a), tangent(b)
    if ta is None and tb is None:
        return result
    zero = ops.zeros((), dtype=result.dtype)
    return Dual(result, ops.where(condition,
                                  zero if ta is None else ta,
                                  zero if tb is None else tb))


def _constant(*args):
    return not any(isinstance(x, Dual) for x in args)


def where(condition, a, b):
    if _constant(a, b):
        return ops.where(condition, a, b)
    return _select(condition, a, b)


def minimum(a, b):
    if _constant(a, b):
        return ops.minimum(a, b)
    # a <= b: the first argument takes a tie, as TensorFlow's gradient does.
    return _select(ops.less_equal(value(a), value(b)), a, b)


def maximum(a, b):
    if _constant(a, b):
        return ops.maximum(a, b)
    return _select(ops.greater_equal(value(a), value(b)), a, b)


def relu(x):
    if _constant(x):
        return ops.relu(x)
    return _select(ops.greater(x.value, 0.0), x, ops.zeros_like(x.value))


def abs(x):  # noqa: A001 - the keras.ops name
    return _chain(x, ops.abs(value(x)), ops.sign(value(x)))


def square(x):
    return _chain(x, ops.square(value(x)), 2.0 * value(x))


def sqrt(x):
    result = ops.sqrt(value(x))
    return _chain(x, result, 0.5 / result)


# The transcendental functions, with their derivatives written through
# their results. While `lane_gradient` runs a formula per box, each result is
# recorded; while it runs the formula again on the lanes, each call takes
# the recorded result instead of computing it 4 times per box (XLA's CPU
# arctan, pow, ... are scalar calls per element, and the lanes' shape
# repeats each per-box value 4 times). Per thread: MirroredStrategy traces
# its replicas in threads of their own.
_state = threading.local()


def _current_tape():
    return getattr(_state, "tape", None)


class _Tape:
    def __init__(self):
        self.results, self.recording, self.position = [], True, 0


def _transcendental(fn, x, derivative):
    tape = _current_tape()
    if tape is None:
        result = fn(value(x))
    elif tape.recording:
        result = fn(value(x))
        tape.results.append(result)
    else:
        result = tape.results[tape.position]
        tape.position += 1
    return _chain(x, result, derivative(result, value(x)))


def arctan(x):
    return _transcendental(_arctan_op(value(x)), x,
                           lambda result, v: 1.0 / (1.0 + ops.square(v)))


# atan(u) = u + u^3 Q(u^2) for |u| <= tan(pi / 8), Q of degree 4 in u^2: a
# weighted least-squares (near-minimax) fit on Chebyshev nodes, made for this
# file; |error| < 1.1e-9 on that interval. With the range reduction's
# rounding the float32 result is within 2.5 ulp (1.4e-7) of the true
# arctan (the tests check 2.5e-7 absolute over the real line).
_ARCTAN_Q = (-0.3333333211990053, 0.19999579669324827, -0.14264933876388827,
             0.10752193836978458, -0.06475511833756661)
_TAN_PI_8 = 0.41421356237309503


def _arctan_op(x):
    """`ops.arctan`, or under XLA in float32 `arctan_polynomial`: XLA's CPU
    arctan is a scalar libm call per element (1e6 values: 9 times a copy of
    them), the polynomial vectorises. Other dtypes keep the exact call (the
    losses compute in float32 or float64)."""
    if compiled_by_xla() and ops.dtype(x) == "float32":
        return arctan_polynomial
    return ops.arctan


def arctan_polynomial(x):
    """arctan from arithmetic only: |x| > 1 as sign(x) pi / 2 + atan(-1 / x),
    then |r| in [tan(pi / 8), 1] as sign(r) pi / 4 + atan((r - sign(r)) /
    (1 + |r|)), then the odd polynomial on |u| <= tan(pi / 8). Its autodiff
    gradient is 1 / (1 + x^2) and finite everywhere: the reciprocal's input
    is selected, not its output, and no `abs` (derivative 0 at 0) is on the
    path."""
    big = ops.greater(ops.abs(x), 1.0)
    r = ops.where(big, -1.0 / ops.where(big, x, 1.0), x)
    r_sign = ops.where(ops.less(r, 0.0), -1.0, 1.0)
    mid = ops.greater(ops.abs(r), _TAN_PI_8)
    u = ops.where(mid, (r - r_sign) / (1.0 + r_sign * r), r)
    s = u * u
    q = _ARCTAN_Q[-1]
    for coefficient in _ARCTAN_Q[-2::-1]:
        q = q * s + coefficient
    x_sign = ops.where(ops.less(x, 0.0), -1.0, 1.0)
    return (u + u * s * q + ops.where(mid, r_sign * (math.pi / 4), 0.0)
            + ops.where(big, x_sign * (math.pi / 2), 0.0))


def log(x):
    return _transcendental(ops.log, x, lambda result, v: 1.0 / v)


def exp(x):
    return _transcendental(ops.exp, x, lambda result, v: result)


def expm1(x):
    return _transcendental(ops.expm1, x, lambda result, v: result + 1.0)


def sigmoid(x):
    return _transcendental(ops.sigmoid, x,
                           lambda result, v: result * (1.0 - result))


def power(x, exponent):
    """x ** exponent for x > 0 (see `boxes._power`: result / x is finite).

    A whole exponent up to 8 by multiplication (exact, no transcendental);
    under XLA any other as exp(exponent * log(x)): XLA's CPU `pow` is a
    scalar call per element (1e6 values: 5.5 times a copy), its exp and log
    vectorise (relative error about |exponent log x| ulp).
    """
    if not isinstance(exponent, numbers.Real):  # a tensor: as it was
        return _transcendental(lambda v: ops.power(v, exponent), x,
                               lambda result, v: exponent * result / v)
    if float(exponent).is_integer() and 1 <= exponent <= 8:
        return _integer_power(x, int(exponent))
    if compiled_by_xla():
        power_op = lambda v: ops.exp(exponent * ops.log(v))  # noqa: E731
    else:  # op by op `pow` is as fast, and exact to the last bit
        power_op = lambda v: ops.power(v, exponent)  # noqa: E731
    return _transcendental(power_op, x,
                           lambda result, v: exponent * result / v)


def _integer_power(x, exponent):
    result, base = None, x
    while exponent:  # by squaring: x^4 is two multiplications
        if exponent & 1:
            result = base if result is None else result * base
        exponent >>= 1
        if exponent:
            base = base * base
    return result


def stop_gradient(x):
    return ops.stop_gradient(value(x))


def columns(boxes):
    """(x1, y1, x2, y2) of xyxy boxes as `(..., 1)` columns. `boxes.py`'s
    helpers work on these tuples, so each loss splits its two tensors once
    (splitting is a strided copy of the whole tensor; without XLA to fuse
    it, it dominates).

    Why `(..., 1)` and not `unstack`'s `(...)`: the gradient of a split is
    one concatenate, and XLA fuses the whole backward pass into it only if
    the fused ops keep the concatenate's operand shape. `unstack` adds a
    reshape per side and per use; the CPU fuser's code-duplication limit (15
    indexings) then refuses the slices, and each of the 8 sides became a
    strided pass of its own over an `[N, 4]` input (GIoU: 11 kernels instead
    of 3; see docs/benchmarks.md). Public helpers squeeze once, at the end,
    with `_per_box`."""
    return tuple(ops.split(boxes, 4, axis=-1))


def _lane_columns(boxes, zero, seeded):
    """The 4 columns of `(..., 4)` boxes, each repeated over 4 lanes,
    `(..., 4)`; `seeded`: as `Dual`s whose tangent is the unit lane, so
    the derivative of anything computed from them is w.r.t. these boxes.

    `zero` is a `(..., 4)` tensor of zeros that XLA cannot prove constant:
    added to each column, it keeps every per-box value at the lanes' shape.
    Without it XLA computes per-box values once, `(..., 1)`, and every
    division, arctan or exp among them becomes a kernel of its own (an
    expensive op is not fused into a broadcast that reuses it), each one
    more pass over the boxes (CIoU, tried: 11); with it the backward pass
    is a single kernel that recomputes them per lane, vectorised."""
    lanes = ops.eye(4, dtype=boxes.dtype)
    return tuple(Dual(column + zero, lanes[i]) if seeded else column + zero
                 for i, column in enumerate(columns(boxes)))


def lane_gradient(formula, y_true, y_pred, forward=False):
    """`formula(t, p)` (column tuples -> `(..., 1)`) as `(...)`, with its
    gradient w.r.t. both `(..., 4)` inputs computed in forward mode.

    Only where XLA compiles the code (`compiled_by_xla`): run op by op
    (eager, `tf.function` without XLA) the lanes' `(..., 4)` tangents cost
    3 to 6 times the backend's autodiff, so that runs there. Inputs of
    different static shapes (broadcasting, as `pairwise_iou` does) take
    autodiff too: a lane gradient would have the broadcast shape.

    `forward=True` evaluates the lanes w.r.t. `y_pred` already in the
    forward pass, with the value, and keeps the `(..., 4)` derivative for
    the backward pass. That is one pass instead of a value pass, a taped
    record and a lane pass, for formulas whose divisions XLA would otherwise
    keep as `(..., 4)` arrays of their own (CIoU, with its one-arctan
    form: about 10x the floor -> 7x at 1e6 boxes);
    others measured slower with it (GIoU, EIoU, Shape-IoU).
    """
    if (tuple(y_true.shape) != tuple(y_pred.shape)
            or not compiled_by_xla()):
        return ops.squeeze(formula(columns(y_true), columns(y_pred)), -1)

    if forward:
        return _forward_lane_gradient(formula, y_true, y_pred)

    @ops.custom_gradient
    def per_box(t, p):
        tape = _Tape()
        with _taping(tape):
            result = formula(columns(t), columns(p))
        tape.recording = False

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            upstream = ops.expand_dims(upstream, -1)
            # isnan is 0 for every number (1 only where the box is NaN
            # already); XLA does not fold it.
            zero = ops.cast(ops.isnan(p), p.dtype)
            gradients = []
            for wrt, boxes in enumerate((t, p)):
                tape.position = 0
                with _taping(tape):
                    lanes = formula(_lane_columns(t, zero, wrt == 0),
                                    _lane_columns(p, zero, wrt == 1))
                gradients.append(_lanes(lanes, boxes, upstream))
            return tuple(gradients)

        return ops.squeeze(result, -1), grad

    return per_box(y_true, y_pred)


def _forward_lane_gradient(formula, y_true, y_pred):
    """`lane_gradient(..., forward=True)`: the derivative w.r.t. `y_pred`
    computed with the value, in one lane pass; the backward pass only scales
    it (and evaluates the lanes again for `y_true`, should its gradient be
    asked for; XLA drops that otherwise)."""
    @ops.custom_gradient
    def per_box(t, p):
        zero = ops.cast(ops.isnan(p), p.dtype)
        lanes = formula(_lane_columns(t, zero, False),
                        _lane_columns(p, zero, True))
        # Every lane holds the box's value.
        result = ops.squeeze(value(lanes)[..., :1], -1)
        gradient_p = _lanes(lanes, p, 1.0)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            upstream = ops.expand_dims(upstream, -1)
            lanes_t = formula(_lane_columns(t, zero, True),
                              _lane_columns(p, zero, False))
            return _lanes(lanes_t, t, upstream), upstream * gradient_p

        return result, grad

    return per_box(y_true, y_pred)


def compiled_by_xla() -> bool:
    """Whether the code being traced now will be compiled by XLA.

    JAX: always (Keras' `fit` jits; eager JAX gets the same, correct
    gradient, only slower). TensorFlow: inside `tf.function(jit_compile=
    True)`, which traces in an XLA context; read through a private
    TensorFlow helper, so False (autodiff) should it move.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        return True
    if backend != "tensorflow":
        return False
    try:
        from tensorflow.python.framework import ops as tf_ops
        from tensorflow.python.ops import control_flow_util
        return bool(control_flow_util.GraphOrParentsInXlaContext(
            tf_ops.get_default_graph()))
    except (ImportError, AttributeError):
        return False


@contextlib.contextmanager
def _taping(tape):
    previous, _state.tape = _current_tape(), tape
    try:
        yield
    finally:
        _state.tape = previous


def _lanes(result, boxes, upstream):
    """The `(..., 4)` gradient: `upstream` times the result's derivative
    (zero where the result does not depend on the boxes)."""
    derivative = tangent(result)
    if derivative is None:
        return ops.zeros_like(boxes)
    return ops.broadcast_to(upstream * derivative, ops.shape(boxes))
