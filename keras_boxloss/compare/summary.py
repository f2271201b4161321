"""A comparison's results: the paper's Tables 2 and 3 as mean +- std over
seeds, the winner of each metric and whether its lead exceeds seed noise.

Seed noise: runs with the same seed share initial weights and data order,
so losses are compared seed by seed: a paired t-test on the per-seed
differences (`scipy.stats.ttest_rel`), with its exact two-sided p-value and
the 95% confidence interval of the mean difference. The lead exceeds the
noise when p < 0.05, judged from `MIN_SEEDS` common seeds up: one seed has
no noise estimate, and two give a test with one degree of freedom, whose
noise estimate is the gap between two differences (small by chance, and t
is large), so the question stays open (None) below three.
"""

import math
import warnings

# (metrics key, the paper's name); Table 2 is the localisation metric.
TABLE2 = (("mean_iou_every_prediction", "mean IoU"),)
# Not in the paper: the mean IoU of the matched top detections only, which
# no low-score box drags down (see `evaluation.localization`).
EXTRA = (("mean_iou_matched_detections", "matched IoU"),)
TABLE3 = (("AP50", "mAP@.5"), ("AP75", "mAP@.75"), ("AP", "mAP@[.5:.95]"),
          ("AR1", "AR@1"), ("AR10", "AR@10"))
METRICS = TABLE2 + EXTRA + TABLE3
LEVEL = 0.05  # two-sided
MIN_SEEDS = 3  # fewest common seeds that give a verdict


def mean_std(values):
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def paired_test(a, b):
    """The paired t-test of per-seed values `a` - `b` (dicts seed -> value,
    compared on their common seeds).

    Returns:
        `{"lead", "n", "t", "p", "ci", "exceeds_noise"}`: the mean
        difference, the common seeds, Student's t, its two-sided p-value,
        the 95% confidence interval `[low, high]` of the mean difference
        (mean +- t_0.975(n - 1) * sd / sqrt(n)), and p < 0.05 (None below
        `MIN_SEEDS` seeds). `t`, `p` and `ci` are None below two seeds.
    """
    seeds = sorted(set(a) & set(b))
    differences = [a[s] - b[s] for s in seeds]
    n = len(differences)
    result = {"lead": None, "n": n, "t": None, "p": None, "ci": None,
              "exceeds_noise": None}
    if not differences:
        return result
    mean, std = mean_std(differences)
    result["lead"] = mean
    if n < 2:
        return result
    if std == 0.0:  # scipy returns nan here; a constant lead is certain
        t, p, ci = (math.inf if mean else 0.0), float(mean == 0.0), \
            [mean, mean]
    else:
        from scipy import stats

        with warnings.catch_warnings():
            # near-equal differences: scipy warns, the large t is right
            warnings.simplefilter("ignore", RuntimeWarning)
            test = stats.ttest_rel([a[s] for s in seeds],
                                   [b[s] for s in seeds])
            interval = test.confidence_interval(1 - LEVEL)
        t, p = float(test.statistic), float(test.pvalue)
        ci = [float(interval.low), float(interval.high)]
    result.update(t=t, p=p, ci=ci)
    if n >= MIN_SEEDS:
        result["exceeds_noise"] = p < LEVEL
    return result


def summarize(results, losses):
    """`results`: the runs' metrics dicts (with `loss` and `seed`).

    Returns:
        `{"metrics": {key: {loss: {"mean", "std", "n", "by_seed"}}},
        "winners": {key: {"loss", "runner_up", "lead", "n", "t", "p", "ci",
        "exceeds_noise", "versus"}}}`: `loss` the best mean (None on a tie
        with the runner-up), the rest its `paired_test` against the
        runner-up, and `versus` that test against every other loss.
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
    return {"metrics": table, "winners": rank(table)}


def rank(table):
    """The winner of each metric of `summarize`'s `metrics` table (rows
    may come from several comparisons, as the leaderboard joins them):
    `{key: {"loss", "runner_up", "lead", "n", "t", "p", "ci",
    "exceeds_noise", "versus"}}`, as `summarize` documents."""
    winners = {}
    for key, rows in table.items():
        if len(rows) < 2:
            continue
        ranked = sorted(rows, key=lambda loss: -rows[loss]["mean"])
        best = ranked[0]
        versus = {other: paired_test(rows[best]["by_seed"],
                                     rows[other]["by_seed"])
                  for other in ranked[1:]}
        tie = rows[best]["mean"] == rows[ranked[1]]["mean"]
        winners[key] = {"loss": None if tie else best,
                        "runner_up": ranked[1], **versus[ranked[1]],
                        "versus": versus}
    return winners


def _noise_word(test):
    if test["exceeds_noise"] is not None:
        return "yes" if test["exceeds_noise"] else "no"
    if test["n"] < 2:
        return f"n/a ({test['n']} seed)"
    return f"undecided ({test['n']} seeds)"


def _p_value(p):
    if p is None:
        return "-"
    return f"{p:.3f}" if p >= 0.001 else "< 0.001"


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
    if not winners:  # one loss: nothing to rank
        return "\n".join(lines + ["", f"Mean ± std over {seeds} seed(s)."]
                         ) + "\n"
    lines += ["", f"Mean ± std over {seeds} seed(s). Winner's lead over the "
                  f"runner-up (mean per-seed difference, its 95% confidence "
                  f"interval), and whether it exceeds seed noise (paired "
                  f"t-test over seeds, two-sided p < {LEVEL}; no verdict "
                  f"below {MIN_SEEDS} seeds):", ""]
    lines += ["| metric | winner | runner-up | lead | 95% CI | t | p | "
              "exceeds noise |", "|---|---|---|---|---|---|---|---|"]
    undecided = False
    for key, name in METRICS:
        w = winners.get(key)
        if not w:
            continue
        t = "-" if w["t"] is None else f"{w['t']:.2f}"
        lead = "-" if w["lead"] is None else f"{w['lead']:+.3f}"
        ci = "-" if w["ci"] is None else \
            f"[{w['ci'][0]:+.3f}, {w['ci'][1]:+.3f}]"
        best = w["loss"] or "tie"
        undecided |= w["n"] == 2
        lines.append(f"| {name} | {best} | {w['runner_up']} | {lead} | "
                     f"{ci} | {t} | {_p_value(w['p'])} | "
                     f"{_noise_word(w)} |")
    if undecided:
        lines += ["", "Two seeds give no verdict: their paired t-test has "
                      "one degree of freedom, its noise estimate the gap "
                      "between two per-seed differences, which can be small "
                      "by chance (t is then large); a verdict would rest on "
                      "that one gap. Run 3 or more seeds (`--seeds 3`) for "
                      "one."]
    return "\n".join(lines) + "\n"


# A sweep's choice: the validation metric that picks a loss's value, and
# the one reported beside it (what the localisation metric would pick).
CHOOSE_BY = ("AP50", "mAP@.5")
ALSO_BY = ("mean_iou_every_prediction", "mean IoU")


def choose_values(summary, losses, values):
    """Per loss of a sweep, the value with the best mean mAP@.5 over seeds
    (the first in `values` order on a tie), and the one mean IoU would
    have picked.

    Args:
        summary: `summarize`'s dict, its rows `<loss>-w<value>`.
        losses, values: the sweep's losses and values (strings).

    Returns:
        `{loss: {"value", "by_mean_iou", "AP50": {value: mean},
        "mean_iou_every_prediction": {value: mean}}}`; a loss without
        results is left out.
    """
    choices = {}
    for loss in losses:
        means = {}
        for key, _ in (CHOOSE_BY, ALSO_BY):
            rows = summary["metrics"].get(key, {})
            means[key] = {value: rows[f"{loss}-w{value}"]["mean"]
                          for value in values if f"{loss}-w{value}" in rows}
        if not means[CHOOSE_BY[0]]:
            continue

        def best(by):
            # max keeps the first of equal values: the `values` order
            return max(by, key=by.get) if by else None

        choices[loss] = {"value": best(means[CHOOSE_BY[0]]),
                         "by_mean_iou": best(means[ALSO_BY[0]]), **means}
    return choices


def sweep_markdown(sweep, evaluate_on="test"):
    """The sweep's choices as a markdown table ("" without any)."""
    if not sweep.get("choices"):
        return ""
    split = ("validation" if evaluate_on == "validation" else
             "held-out (not validation: the choice has seen the reported "
             "split)")
    keys = " and ".join(f"`{key}`" for key in sweep["keys"])
    lines = ["", f"Sweep of {keys} over {', '.join(sweep['values'])}: each "
                 f"loss's value by {CHOOSE_BY[1]} on the {split} split "
                 f"(mean over seeds), and what {ALSO_BY[1]} would have "
                 f"chosen:", "",
             f"| loss | chosen ({CHOOSE_BY[1]}) | {CHOOSE_BY[1]} | "
             f"by {ALSO_BY[1]} |", "|---|---|---|---|"]
    for loss, choice in sweep["choices"].items():
        value = choice["value"]
        lines.append(f"| {loss} | {value} | "
                     f"{choice[CHOOSE_BY[0]][value]:.3f} | "
                     f"{choice['by_mean_iou']} |")
    return "\n".join(lines) + "\n"
