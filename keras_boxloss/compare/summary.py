"""A comparison's results: the paper's Tables 2 and 3 as mean +- std over
seeds, the winner of each metric and whether its lead exceeds seed noise.

Seed noise: runs with the same seed share initial weights and data order,
so losses are compared seed by seed. The winner's lead over another loss
exceeds the noise when a paired t-test on the per-seed differences rejects
"no difference" at the two-sided 5% level (t > t_0.975(n - 1)); with one
seed there is no noise estimate and the question stays open (None).
"""

import math

# (metrics key, the paper's name); Table 2 is the localisation metric.
TABLE2 = (("mean_iou_every_prediction", "mean IoU"),)
# Not in the paper: the mean IoU of the matched top detections only, which
# no low-score box drags down (see `evaluation.localization`).
EXTRA = (("mean_iou_matched_detections", "matched IoU"),)
TABLE3 = (("AP50", "mAP@.5"), ("AP75", "mAP@.75"), ("AP", "mAP@[.5:.95]"),
          ("AR1", "AR@1"), ("AR10", "AR@10"))
METRICS = TABLE2 + EXTRA + TABLE3
# Two-sided 5% critical values of Student's t by degrees of freedom; a df
# between entries uses the smaller df's value (conservative).
T_CRITICAL = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571,
              6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
              15: 2.131, 20: 2.086, 30: 2.042, 60: 2.000, 120: 1.980}


def t_critical(df):
    return T_CRITICAL[max(k for k in T_CRITICAL if k <= df)]


def mean_std(values):
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def paired_test(a, b):
    """`(mean difference, t, exceeds noise)` of per-seed values `a` - `b`
    (dicts seed -> value, compared on their common seeds)."""
    seeds = sorted(set(a) & set(b))
    differences = [a[s] - b[s] for s in seeds]
    if not differences:
        return None, None, None
    mean, std = mean_std(differences)
    if len(differences) < 2:
        return mean, None, None
    if std == 0.0:
        return mean, math.inf if mean else 0.0, mean != 0.0
    t = mean / (std / math.sqrt(len(differences)))
    return mean, t, abs(t) > t_critical(len(differences) - 1)


def summarize(results, losses):
    """`results`: the runs' metrics dicts (with `loss` and `seed`).

    Returns:
        `{"metrics": {key: {loss: {"mean", "std", "n", "by_seed"}}},
        "winners": {key: {"loss", "runner_up", "lead", "t",
        "exceeds_noise", "versus"}}}`: `loss` the best mean (None on a tie
        with the runner-up), `versus` its paired test against every other
        loss.
    """
    table = {}
    for key, _ in METRICS:
        table[key] = {}
        for loss in losses:
            by_seed = {r["seed"]: float(r[key]) for r in results
                       if r["loss"] == loss and key in r}
            if by_seed:
                mean, std = mean_std(list(by_seed.values()))
                table[key][loss] = {"mean": mean, "std": std,
                                    "n": len(by_seed), "by_seed": by_seed}
    winners = {}
    for key, rows in table.items():
        if len(rows) < 2:
            continue
        ranked = sorted(rows, key=lambda loss: -rows[loss]["mean"])
        best = ranked[0]
        versus = {}
        for other in ranked[1:]:
            lead, t, exceeds = paired_test(rows[best]["by_seed"],
                                           rows[other]["by_seed"])
            versus[other] = {"lead": lead, "t": t, "exceeds_noise": exceeds}
        runner_up = versus[ranked[1]]
        tie = rows[best]["mean"] == rows[ranked[1]]["mean"]
        winners[key] = {"loss": None if tie else best, "runner_up": ranked[1],
                        "lead": runner_up["lead"], "t": runner_up["t"],
                        "exceeds_noise": runner_up["exceeds_noise"],
                        "versus": versus}
    return {"metrics": table, "winners": winners}


def _noise_word(exceeds):
    return {True: "yes", False: "no", None: "n/a (1 seed)"}[exceeds]


def format_markdown(summary, losses, title=None):
    """Tables 2 and 3 side by side (rows: losses), the winner in bold, and
    a line per metric on the winner's lead."""
    table, winners = summary["metrics"], summary["winners"]
    seeds = max((row["n"] for rows in table.values()
                 for row in rows.values()), default=0)
    lines = [f"### {title}", ""] if title else []
    def column(key, name):
        table_number = ("T2" if (key, name) in TABLE2 else
                        "T3" if (key, name) in TABLE3 else "ours")
        return f"{name} ({table_number})"

    header = ["loss"] + [column(key, name) for key, name in METRICS]
    lines += ["| " + " | ".join(header) + " |",
              "|" + "---|" * len(header)]
    for loss in losses:
        cells = [loss]
        for key, _ in METRICS:
            row = table[key].get(loss)
            if row is None:
                cells.append("-")
                continue
            cell = f"{row['mean']:.3f} ± {row['std']:.3f}"
            if winners.get(key, {}).get("loss") == loss:
                cell = f"**{cell}**"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Mean ± std over {seeds} seed(s). Winner's lead over the "
                  f"runner-up, and whether it exceeds seed noise (paired "
                  f"t-test over seeds, 5%):", ""]
    lines += ["| metric | winner | runner-up | lead | t | exceeds noise |",
              "|---|---|---|---|---|---|"]
    for key, name in METRICS:
        w = winners.get(key)
        if not w:
            continue
        t = "-" if w["t"] is None else f"{w['t']:.2f}"
        lead = "-" if w["lead"] is None else f"{w['lead']:+.3f}"
        best = w["loss"] or "tie"
        lines.append(f"| {name} | {best} | {w['runner_up']} | {lead} | "
                     f"{t} | {_noise_word(w['exceeds_noise'])} |")
    return "\n".join(lines) + "\n"
