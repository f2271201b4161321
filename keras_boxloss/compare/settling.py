"""Whether a comparison's runs have settled, judged from their validation
curves: a loss's runs have settled when no seed's validation mean IoU or
mAP@.5 moved, over its last curve interval, by more than the spread of that
metric between the seeds at the end. A move larger than the seed noise
means a longer run could still reorder the losses."""

SETTLING_METRICS = {"val_mean_iou": "mean IoU", "val_AP50": "mAP@.5"}


def settling(curves, losses):
    """Per loss: the last curve interval, and per metric the largest change
    over it (any seed), the seed spread at the end (max - min) and whether
    the loss's runs settled (None with fewer than two seeds: no spread).

    Args:
        curves: `{loss: {seed: [{"step": int, "val_AP50": float,
            "val_mean_iou": float, ...}, ...]}}`, points in step order.
        losses: the losses to judge, in table order.
    """
    result = {}
    for loss in losses:
        runs = [points for points in curves.get(loss, {}).values()
                if len(points) >= 2]
        if not runs:
            continue
        entry = {"last_interval_steps": max(
            points[-1]["step"] - points[-2]["step"] for points in runs)}
        for key in SETTLING_METRICS:
            finals = [p[-1][key] for p in runs]
            entry[key] = max(abs(p[-1][key] - p[-2][key]) for p in runs)
            entry[f"{key}_seed_spread"] = max(finals) - min(finals)
        entry["settled"] = None if len(runs) < 2 else all(
            entry[key] <= entry[f"{key}_seed_spread"]
            for key in SETTLING_METRICS)
        result[loss] = entry
    return result


def settling_markdown(result):
    """The settling lines for `results.md` ("" when no run had a curve)."""
    if not result:
        return ""
    lines = ["", "Settling: the largest change of a validation metric over "
                 "the last curve interval (any seed) against its spread "
                 "between seeds at the end; settled when no change exceeds "
                 "the spread:", ""]
    for loss, entry in result.items():
        parts = [f"{name} {entry[key]:.3f} (spread "
                 f"{entry[f'{key}_seed_spread']:.3f})"
                 for key, name in SETTLING_METRICS.items()]
        verdict = {True: "settled", False: "not settled",
                   None: "one seed: no spread to judge by"}[entry["settled"]]
        lines.append(f"- {loss}: {', '.join(parts)} over the last "
                     f"{entry['last_interval_steps']} steps: {verdict}")
    return "\n".join(lines) + "\n"
