"""`train_config.optimizer` and `gradient_clipping_by_norm` of a Faster
R-CNN pipeline.config -> Model Garden's `trainer.optimizer_config`.

Learning rates: manual_step -> stepwise (boundaries one step earlier:
Keras's piecewise decay switches after a boundary, the OD API at its step;
a step-0 entry replaces the initial rate, as in the OD API; `warmup` ->
linear warmup to the first boundary); exponential_decay -> exponential;
cosine_decay -> cosine with `offset` = warmup steps under a linear warmup
(the OD API's formula exactly, except `hold_base_rate_steps`). Optimisers:
momentum -> sgd, rms_prop -> rmsprop, adam -> adam.
"""

from __future__ import annotations

from keras_boxloss.odapi.accounting import APPROXIMATED, Section
from keras_boxloss.odapi.faster_rcnn_mapping import GardenMapping, fail, number

OPTIMIZERS = {"momentum_optimizer": "sgd", "rms_prop_optimizer": "rmsprop",
              "adam_optimizer": "adam"}


def map_clipping(train: Section, out: GardenMapping) -> None:
    if not train.has("gradient_clipping_by_norm"):
        return
    norm = number(train, "gradient_clipping_by_norm", 0.0, low=0)
    if norm > 0:
        kind = out.get("trainer.optimizer_config.optimizer.type")
        out.put(f"trainer.optimizer_config.optimizer.{kind}.global_clipnorm",
                norm, "train_config.gradient_clipping_by_norm")
        train.honoured("gradient_clipping_by_norm", f"global_clipnorm: "
                       f"{norm} (the global norm, as the OD API's TF2 "
                       f"trainer; its TF1 trainer clipped each gradient)")
    else:
        train.honoured("gradient_clipping_by_norm", "0: no clipping")


def map_optimizer(optimizer: Section, out: GardenMapping) -> None:
    found = [n for n in OPTIMIZERS if optimizer.has(n)]
    if len(found) != 1:
        raise ValueError(f"{optimizer.where()}: Expected `train_config."
                         f"optimizer` to hold one of {list(OPTIMIZERS)}. "
                         f"Received: {optimizer.names()}")
    name = found[0]
    kind = OPTIMIZERS[name]
    sub = optimizer.sub(name)
    base = f"trainer.optimizer_config.optimizer.{kind}"
    out.put("trainer.optimizer_config.optimizer.type", kind,
            f"train_config.optimizer.{name}")
    if name in ("momentum_optimizer", "rms_prop_optimizer"):
        momentum = number(sub, "momentum_optimizer_value", 0.9, low=0)
        out.put(f"{base}.momentum", momentum, f"{sub.path}."
                f"momentum_optimizer_value")
        sub.honoured("momentum_optimizer_value", f"{base}.momentum: "
                                                 f"{momentum}")
    if name == "rms_prop_optimizer":
        decay = number(sub, "decay", 0.9, low=0)
        epsilon = number(sub, "epsilon", 1.0, low=0)
        out.put(f"{base}.rho", decay, f"{sub.path}.decay")
        out.put(f"{base}.epsilon", epsilon, f"{sub.path}.epsilon")
        sub.honoured("decay", f"{base}.rho: {decay}")
        sub.approximated("epsilon", f"{base}.epsilon: {epsilon}; Keras adds "
                         f"it after the square root, TF1's RMSProp inside")
    if name == "adam_optimizer":
        epsilon = number(sub, "epsilon", 1e-8, low=0)
        out.put(f"{base}.epsilon", epsilon, f"{sub.path}.epsilon")
        sub.honoured("epsilon", f"{base}.epsilon: {epsilon}")
    optimizer.honoured(name, f"Model Garden optimizer {kind}")
    learning_rate(sub.sub("learning_rate"), out)
    if optimizer.value("use_moving_average", True) is True:
        decay = number(optimizer, "moving_average_decay", 0.9999, low=0)
        out.put("trainer.optimizer_config.ema.average_decay", decay,
                "train_config.optimizer.moving_average_decay")
        out.put("trainer.optimizer_config.ema.dynamic_decay", False,
                "a fixed decay, as the OD API's")
        note = (f"trainer.optimizer_config.ema (decay {decay}): evaluation "
                f"and export use the averaged weights")
        optimizer.approximated("use_moving_average", note)
        optimizer.approximated("moving_average_decay", note)
        if not optimizer.has("use_moving_average"):
            optimizer.report.mark(
                f"{optimizer.path}.use_moving_average", None, APPROXIMATED,
                f"(absent: the OD API default true) {note}",
                line=optimizer.line())
    else:
        optimizer.honoured("use_moving_average", "no moving average")
        optimizer.honoured("moving_average_decay", "no effect")


def learning_rate(rate: Section, out: GardenMapping) -> None:
    """A LearningRate message as Model Garden learning_rate and warmup."""
    lr = "trainer.optimizer_config.learning_rate"
    warm = "trainer.optimizer_config.warmup"
    names = rate.names()
    if len(names) != 1:
        raise ValueError(f"{rate.where()}: Expected `{rate.path}` to hold "
                         f"one learning rate schedule. Received: {names}")
    kind, sub = names[0], rate.sub(names[0])
    src = f"{sub.path}"
    if kind == "constant_learning_rate":
        value = number(sub, "learning_rate", 0.002, low=0)
        out.put(f"{lr}.type", "constant", src)
        out.put(f"{lr}.constant.learning_rate", value, src)
        sub.honoured("learning_rate", f"{lr}.constant: {value}")
        out.put(f"{warm}.type", None, "no warmup")
    elif kind == "manual_step_learning_rate":
        _manual_step(sub, out, lr, warm)
    elif kind == "exponential_decay_learning_rate":
        _exponential(sub, out, lr, warm)
    elif kind == "cosine_decay_learning_rate":
        _cosine(sub, out, lr, warm)
    else:
        raise ValueError(f"{sub.where()}: Expected a learning rate of "
                         f"manual_step, exponential_decay, cosine_decay or "
                         f"constant. Received: {kind}")
    rate.honoured(kind, f"{lr} (see the values)")


def _manual_step(sub: Section, out, lr: str, warm: str) -> None:
    initial = number(sub, "initial_learning_rate", 0.002, low=0)
    schedule = sub.subs("schedule")
    if not schedule:
        raise ValueError(f"{sub.where()}: Expected `{sub.path}.schedule` "
                         f"entries (the OD API rejects an empty schedule). "
                         f"Received: none")
    steps = [number(s, "step", 0, low=0, integer=True) for s in schedule]
    rates = [number(s, "learning_rate", 0.002, low=0) for s in schedule]
    if any(b <= a for a, b in zip(steps, steps[1:])):
        raise ValueError(f"{sub.where('schedule')}: Expected `{sub.path}."
                         f"schedule` steps strictly increasing. Received: "
                         f"steps={steps}")
    values = [initial] + rates
    if steps[0] == 0:  # the step-0 rate applies from the start
        steps, values = steps[1:], values[1:]
    out.put(f"{lr}.type", "stepwise", sub.path)
    # The OD API switches rate AT a schedule step; Keras's piecewise
    # constant decay (Model Garden's stepwise) after its boundary.
    out.put(f"{lr}.stepwise.boundaries", [s - 1 for s in steps],
            f"{sub.path}.schedule steps - 1 (Model Garden switches after "
            f"a boundary, the OD API at its step)")
    out.put(f"{lr}.stepwise.values", values, f"{sub.path}."
            "initial_learning_rate and schedule rates")
    note = (f"{lr}.stepwise: values {values} from steps "
            f"{[0] + steps}")
    sub.honoured("schedule", note)
    sub.honoured("initial_learning_rate", note + (
        " (replaced by the step-0 rate, as in the OD API)"
        if len(values) == len(rates) else ""))
    if sub.value("warmup", False) is True and steps:
        out.put(f"{warm}.type", "linear", f"{sub.path}.warmup")
        out.put(f"{warm}.linear.warmup_steps", steps[0], "to the first "
                "boundary")
        out.put(f"{warm}.linear.warmup_learning_rate", values[0],
                "from the initial rate")
        sub.honoured("warmup", f"{warm}.linear: {values[0]} -> {values[1]} "
                               f"over {steps[0]} steps")
    else:
        out.put(f"{warm}.type", None, "no warmup")
        sub.honoured("warmup", "no warmup")


def _exponential(sub: Section, out, lr: str, warm: str) -> None:
    initial = number(sub, "initial_learning_rate", 0.002, low=0)
    steps = number(sub, "decay_steps", 4000000, integer=True, positive=True)
    factor = number(sub, "decay_factor", 0.95, low=0)
    staircase = sub.value("staircase", True) is True
    out.put(f"{lr}.type", "exponential", sub.path)
    for key, value, name in (("initial_learning_rate", initial,
                              "initial_learning_rate"),
                             ("decay_steps", steps, "decay_steps"),
                             ("decay_rate", factor, "decay_factor"),
                             ("staircase", staircase, "staircase")):
        out.put(f"{lr}.exponential.{key}", value, f"{sub.path}.{name}")
        sub.honoured(name, f"{lr}.exponential.{key}: {value}")
    burnin_steps = number(sub, "burnin_steps", 0, low=0, integer=True)
    burnin = number(sub, "burnin_learning_rate", 0.0, low=0)
    if burnin_steps and burnin and burnin != initial:
        out.put(f"{warm}.type", "linear", f"{sub.path}.burnin_steps")
        out.put(f"{warm}.linear.warmup_steps", burnin_steps, "burn-in")
        out.put(f"{warm}.linear.warmup_learning_rate", burnin, "burn-in")
        note = (f"a linear warmup from {burnin} over {burnin_steps} steps "
                f"(the OD API holds {burnin} constant, then jumps)")
        sub.approximated("burnin_steps", note)
        sub.approximated("burnin_learning_rate", note)
    else:
        out.put(f"{warm}.type", None, "no burn-in")
        sub.honoured("burnin_steps", "no burn-in (its rate is the initial "
                                     "one)")
        sub.honoured("burnin_learning_rate", "no burn-in")
    if number(sub, "min_learning_rate", 0.0, low=0) > 0:
        sub.not_supported("min_learning_rate", "Model Garden's exponential "
                          "decay has no floor")
    else:
        sub.honoured("min_learning_rate", "no floor")


def _cosine(sub: Section, out, lr: str, warm: str) -> None:
    base = number(sub, "learning_rate_base", 0.002, low=0)
    total = number(sub, "total_steps", 4000000, integer=True, positive=True)
    warmup_lr = number(sub, "warmup_learning_rate", 0.0002, low=0)
    warmup = number(sub, "warmup_steps", 10000, integer=True, low=0)
    hold = number(sub, "hold_base_rate_steps", 0, integer=True, low=0)
    if warmup > total:
        fail(sub, "warmup_steps", f"to be <= total_steps {total}", warmup)
    out.put(f"{lr}.type", "cosine", sub.path)
    out.put(f"{lr}.cosine.initial_learning_rate", base,
            f"{sub.path}.learning_rate_base")
    out.put(f"{lr}.cosine.decay_steps", total - warmup,
            "total_steps - warmup_steps")
    out.put(f"{lr}.cosine.offset", warmup, "the decay starts after the "
            "warmup")
    out.put(f"{lr}.cosine.alpha", 0.0, "decays to 0 at total_steps")
    note = f"{lr}.cosine from {base} over steps {warmup}-{total}"
    for name in ("learning_rate_base", "total_steps"):
        sub.honoured(name, note)
    if warmup:
        out.put(f"{warm}.type", "linear", f"{sub.path}.warmup_steps")
        out.put(f"{warm}.linear.warmup_steps", warmup,
                f"{sub.path}.warmup_steps")
        out.put(f"{warm}.linear.warmup_learning_rate", warmup_lr,
                f"{sub.path}.warmup_learning_rate")
        for name in ("warmup_steps", "warmup_learning_rate"):
            sub.honoured(name, f"{warm}.linear: {warmup_lr} -> {base} over "
                               f"{warmup} steps")
    else:
        out.put(f"{warm}.type", None, "no warmup")
        sub.honoured("warmup_steps", "no warmup")
        sub.honoured("warmup_learning_rate", "no effect without warmup")
    if hold:
        sub.approximated("hold_base_rate_steps", f"not held: the decay "
                         f"starts right after the warmup and runs over "
                         f"{total - warmup} steps (Model Garden's cosine "
                         f"has no hold)")
    else:
        sub.honoured("hold_base_rate_steps", "no hold")
