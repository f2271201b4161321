"""`compare --leaderboard`: finished comparison folders -> one markdown
table. Folders are written here by hand (no training); expected cells are
worked out with NumPy and SciPy from the per-seed values."""

import json

import numpy as np
import pytest
from scipy import stats

from keras_boxloss.compare.leaderboard import (GARDEN_DEFAULT_WEIGHT,
                                               dataset_name, leaderboard,
                                               weight_text)
from keras_boxloss.compare.summary import summarize

AP50, IOU = "AP50", "mean_iou_every_prediction"
# per loss, per seed: (mAP@.5, mean IoU)
HUBER = {0: (0.50, 0.30), 1: (0.60, 0.32), 2: (0.70, 0.34)}
GIOU = {0: (0.56, 0.31), 1: (0.64, 0.35), 2: (0.79, 0.33)}
CIOU = {0: (0.40, 0.20), 1: (0.45, 0.21), 2: (0.47, 0.25)}


def _records(name):
    return {"train": f"/data/{name}/train-*-of-*.tfrecord",
            "evaluation": f"/data/{name}/test-*-of-*.tfrecord",
            "curve": f"/data/{name}/val-*-of-*.tfrecord",
            "label_map": f"/data/{name}/label_map.pbtxt",
            "description": f"records in /data/{name}"}


def _config(tmp_path, text="detector: ssd\n", name="ssd.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _folder(tmp_path, name, per_loss, config, data=None, steps=300,
            overrides=(), sweep=None, evaluate_on=None):
    """A comparison folder as `compare` leaves it: `summary.json` (from
    `summarize`, as compare writes it) and `compare.json`."""
    folder = tmp_path / name
    folder.mkdir()
    results = [{"loss": loss, "seed": seed, "steps": steps, AP50: ap,
                IOU: iou}
               for loss, by_seed in per_loss.items()
               for seed, (ap, iou) in by_seed.items()]
    # through JSON, as the leaderboard reads it (seeds become strings)
    summary = json.loads(json.dumps(summarize(results, list(per_loss))))
    summary.update(losses=list(per_loss), data=data or _records("bccd"),
                   runs=[{k: r[k] for k in ("loss", "seed", "steps")}
                         for r in results])
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "compare.json").write_text(json.dumps({
        "config": config, "data": data or _records("bccd"), "steps": None,
        "overrides": list(overrides), "sweep": sweep,
        "evaluate_on": evaluate_on}))
    return str(folder)


def _row(markdown, loss, dataset="bccd"):
    rows = [line.strip("|").split(" | ") for line in markdown.splitlines()
            if line.startswith(f"| {dataset} |")]
    matches = [[cell.strip() for cell in row] for row in rows
               if row[3].strip() == loss]
    assert len(matches) == 1, markdown
    return matches[0]


def _mean_std(by_seed, index):
    values = np.array([by_seed[s][index] for s in sorted(by_seed)])
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"


def _p(by_seed, baseline, index):
    seeds = sorted(set(by_seed) & set(baseline))
    return stats.ttest_rel([by_seed[s][index] for s in seeds],
                           [baseline[s][index] for s in seeds]).pvalue


def test_cells_are_mean_std_and_paired_p_against_huber_across_folders(
        tmp_path):
    # Item 2's shape: one folder per loss and weight, the same column.
    config = _config(tmp_path)
    folders = [
        _folder(tmp_path, "huber-w1", {"huber": HUBER}, config),
        _folder(tmp_path, "giou-w5", {"giou": GIOU, "ciou": CIOU}, config,
                overrides=["loss.alpha=5"]),
    ]

    markdown = leaderboard(folders)

    giou, ciou = _row(markdown, "giou"), _row(markdown, "ciou")
    assert giou[:6] == ["bccd", "SSD", "300", "giou", "5", "3"]
    assert giou[6] == _mean_std(GIOU, 0)
    assert giou[7] == f"{_p(GIOU, HUBER, 0):.3f}"
    assert giou[8] == _mean_std(GIOU, 1)
    assert giou[9] == f"{_p(GIOU, HUBER, 1):.3f}"
    assert ciou[7] == f"{_p(CIOU, HUBER, 0):.3f}"
    huber = _row(markdown, "huber")
    assert huber[4] == "config default (1)"  # LossConfig's alpha
    assert huber[7] == huber[9] == "-"
    # by mAP@.5, best first: giou 0.663, huber 0.600, ciou 0.440
    order = [line.split(" | ")[3] for line in markdown.splitlines()
             if line.startswith("| bccd |")]
    assert order == ["giou", "huber", "ciou"]
    assert "bccd, SSD, 300: huber-w1, giou-w5" in markdown
    assert "Skipped: none." in markdown


def _joined_section(markdown):
    assert markdown.count("Tables 2 and 3 (joined from") == 1, markdown
    return markdown.split("Tables 2 and 3 (joined from", 1)[1]


def test_a_column_joined_from_folders_gets_tables_2_and_3_in_full(tmp_path):
    """Item 2's report: one folder per loss at its own weight -> the
    paper's tables as one comparison's results.md has them, the winner's
    paired test worked out here with SciPy."""
    config = _config(tmp_path)
    folders = [_folder(tmp_path, "bccd-huber", {"huber": HUBER}, config),
               _folder(tmp_path, "bccd-giou", {"giou": GIOU}, config,
                       overrides=["loss.alpha=5"])]

    section = _joined_section(leaderboard(folders))

    assert section.startswith(" bccd-huber, bccd-giou)")
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")
            for line in section.splitlines() if line.startswith("| ")}
    # Table 3's mAP@.5: giou 0.663 leads huber 0.600 (bold: the winner)
    assert f"**{_mean_std(GIOU, 0)}**" in rows["giou"]
    assert _mean_std(HUBER, 0) in rows["huber"]
    assert "mAP@.75 (T3)" in rows["loss"] and "mean IoU (T2)" in rows["loss"]
    lead = rows["mAP@.5"]
    assert lead[1:3] == ["giou", "huber"]
    differences = [GIOU[s][0] - HUBER[s][0] for s in HUBER]
    assert lead[3] == f"{np.mean(differences):+.3f}"
    assert lead[6] == f"{_p(GIOU, HUBER, 0):.3f}"
    assert "Box-loss weights: giou 5; huber config default (1)." in section


def test_a_column_from_one_folder_gets_no_joined_tables(tmp_path):
    # its folder's results.md has them already
    markdown = leaderboard([_folder(tmp_path, "c",
                                    {"huber": HUBER, "giou": GIOU},
                                    _config(tmp_path))])
    assert "Tables 2 and 3" not in markdown


def test_fewer_than_three_common_seeds_cannot_decide(tmp_path):
    config = _config(tmp_path)
    two = {seed: GIOU[seed] for seed in (0, 1)}
    markdown = leaderboard([_folder(tmp_path, "c",
                                    {"huber": HUBER, "giou": two}, config)])
    row = _row(markdown, "giou")
    assert row[5] == "2"
    assert row[7] == row[9] == "undecided (2 common seeds)"


def test_columns_are_dataset_detector_and_steps(tmp_path):
    ssd = _config(tmp_path)
    garden = _config(tmp_path, "task:\n  model: {}\n", "garden.yaml")
    folders = [
        _folder(tmp_path, "a", {"huber": HUBER}, ssd),
        _folder(tmp_path, "b", {"huber": HUBER}, ssd,
                data=_records("raccoon")),
        _folder(tmp_path, "c", {"huber": HUBER}, garden),
        _folder(tmp_path, "d", {"huber": HUBER}, ssd, steps=800),
    ]
    markdown = leaderboard(folders)
    columns = [tuple(line.split(" | ")[:3]) for line in markdown.splitlines()
               if line.startswith("| ") and "huber" in line]
    assert columns == [("| bccd", "Faster R-CNN", "300"),
                       ("| bccd", "SSD", "300"), ("| bccd", "SSD", "800"),
                       ("| raccoon", "SSD", "300")]


def test_same_loss_and_column_in_two_folders_is_ambiguous(tmp_path):
    config = _config(tmp_path)
    first = _folder(tmp_path, "giou-w2", {"giou": GIOU}, config,
                    overrides=["loss.alpha=2"])
    second = _folder(tmp_path, "giou-w5", {"giou": GIOU}, config,
                     overrides=["loss.alpha=5"])
    with pytest.raises(ValueError, match="Expected one comparison per loss "
                                         "and column") as error:
        leaderboard([first, second])
    assert first in str(error.value) and second in str(error.value)


def test_one_column_is_one_setting(tmp_path):
    """Folders of one column (dataset, detector, steps) that differ in
    config or in a non-weight override are not paired; the same folder
    given twice (`x`, `x/`) counts once."""
    config = _config(tmp_path)
    other = _config(tmp_path, "detector: ssd\n", "other.yaml")
    huber = _folder(tmp_path, "huber", {"huber": HUBER}, config,
                    overrides=["optimizer.learning_rate=0.1"])
    giou = _folder(tmp_path, "giou", {"giou": GIOU}, config,
                   overrides=["loss.alpha=5", "optimizer.learning_rate=0.1"])
    markdown = leaderboard([huber, huber + "/", giou])
    assert _row(markdown, "giou")[4] == "5"
    lr = _folder(tmp_path, "giou-lr", {"giou": GIOU}, config,
                 overrides=["loss.alpha=5", "optimizer.learning_rate=0.2"])
    with pytest.raises(ValueError, match="share their config and non-weight"
                                         " overrides") as error:
        leaderboard([huber, lr])
    assert "learning_rate=0.2" in str(error.value)
    elsewhere = _folder(tmp_path, "giou-other", {"giou": GIOU}, other,
                        overrides=["optimizer.learning_rate=0.1"])
    with pytest.raises(ValueError, match="other.yaml"):
        leaderboard([huber, elsewhere])


def test_sweeps_and_validation_comparisons_are_skipped_and_named(tmp_path):
    config = _config(tmp_path)
    sweep = {"keys": ["loss.alpha"], "values": ["1", "5"]}
    folders = [
        _folder(tmp_path, "kept", {"huber": HUBER}, config),
        _folder(tmp_path, "sweep", {"giou-w1": GIOU}, config, sweep=sweep),
        _folder(tmp_path, "on-val", {"ciou": CIOU}, config,
                evaluate_on="validation"),
    ]
    markdown = leaderboard(folders)
    assert "giou" not in markdown.split("Sources")[0]
    assert "ciou" not in markdown.split("Sources")[0]
    assert ("comparisons choose settings, unfinished ones have no summary "
            "yet): sweep (a sweep of loss.alpha), on-val (evaluated on the "
            "validation split).") in markdown


def test_folder_without_compare_json_is_an_error_naming_it(tmp_path):
    folder = _folder(tmp_path, "c", {"huber": HUBER}, _config(tmp_path))
    (tmp_path / "c" / "compare.json").unlink()
    with pytest.raises(FileNotFoundError,
                       match=f"Received: {folder} without compare.json"):
        leaderboard([folder])


def test_a_comparison_still_running_is_skipped_and_named(tmp_path):
    """A study spread over sessions keeps finished runs before its
    summary.json exists: the leaderboard names it, and counts its runs."""
    config = _config(tmp_path)
    done = _folder(tmp_path, "bccd-huber", {"huber": HUBER}, config)
    running = _folder(tmp_path, "bccd-giou", {"giou": GIOU}, config)
    (tmp_path / "bccd-giou" / "summary.json").unlink()
    (tmp_path / "bccd-giou" / "runs" / "giou-seed0").mkdir(parents=True)
    (tmp_path / "bccd-giou" / "runs" / "giou-seed0" /
     "metrics.json").write_text("{}")
    (tmp_path / "bccd-giou" / "runs" / "giou-seed1").mkdir()  # in progress

    markdown = leaderboard([done, running])

    assert "giou" not in markdown.split("Sources")[0]
    assert ("bccd-giou (unfinished: 1 run(s) done, no summary.json yet)."
            in markdown)


@pytest.mark.parametrize("detector,overrides,yaml_values,expected", [
    ("faster_rcnn", ["task.losses.rpn_box_weight=5",
                     "task.losses.frcnn_box_weight=5"], {}, "rpn 5, frcnn 5"),
    # one --params_override string holding both (Model Garden's form)
    ("faster_rcnn", ["task.losses.rpn_box_weight=2,"
                     "task.losses.frcnn_box_weight=10"], {}, "rpn 2, frcnn 10"),
    ("faster_rcnn", ["task.losses.rpn_box_weight=2"],
     {"task": {"losses": {"frcnn_box_weight": 3}}},
     "rpn 2, frcnn 3 (config default)"),
    ("faster_rcnn", ["trainer.train_steps=5"], {},
     "config default (rpn 1, frcnn 1)"),
    ("ssd", [], {"loss": {"alpha": 2.5}}, "config default (2.5)"),
    ("ssd", ["loss.alpha=1", "loss.alpha=4"], {}, "4"),  # the last wins
    ("yolo_v1", [], {}, "config default (5)"),  # LossConfig.lambda_coord
    ("yolo_v1", ["loss.lambda_coord=10"], {}, "10"),
])
def test_weight_from_overrides_else_config(detector, overrides, yaml_values,
                                           expected):
    assert weight_text(detector, overrides, yaml_values) == expected


def test_garden_default_weight_is_model_gardens():
    maskrcnn = pytest.importorskip("official.vision.configs.maskrcnn")
    losses = maskrcnn.Losses()
    assert losses.rpn_box_weight == losses.frcnn_box_weight \
        == GARDEN_DEFAULT_WEIGHT


def test_dataset_names():
    assert dataset_name({"description": "the generated shapes dataset",
                         "train": "/c/generated-v1/train-*"}) \
        == "generated shapes"
    assert dataset_name(_records("raccoon")) == "raccoon"
    assert dataset_name({
        "description": "voc annotations data/pets/annotations converted to "
                       "runs/c/data (80/20 split, seed 0)",
        "train": "runs/c/data/train-*-of-*.tfrecord"}) == "annotations"


def test_cli_prints_the_leaderboard_and_refuses_training_options(
        tmp_path, capsys):
    from keras_boxloss.cli.main import main

    folder = _folder(tmp_path, "c", {"huber": HUBER, "giou": GIOU},
                     _config(tmp_path))
    assert main(["compare", "--leaderboard", folder]) == 0
    out = capsys.readouterr().out
    assert out == leaderboard([folder])
    assert "| bccd | SSD | 300 | giou | config default (1) | 3 |" in out

    assert main(["compare", "--leaderboard", folder, "--output-dir",
                 str(tmp_path / "o")]) == 2
    assert "--leaderboard trains nothing" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert main(["compare", "--leaderboard", folder, "--losses", "giou",
                 "--seeds", "5", "--set", "loss.alpha=9"]) == 2
    assert "drop --set, --losses, --seeds" in capsys.readouterr().err
    assert main(["compare", "--leaderboard", str(tmp_path / "nope")]) == 2
    assert "without compare.json" in capsys.readouterr().err
