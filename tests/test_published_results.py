"""The comparison results shipped in docs/results/: the tables of
docs/results/README.md must be the published ones (they are pasted by hand),
the README's summary table must be the one computed from the published
summary.json files, and `experiments/publish_results.py` must write what
the pages link."""

import importlib.util
import json
import os

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
RESULTS = os.path.join(ROOT, "docs", "results")
RESULTS_PAGE = os.path.join(RESULTS, "README.md")
PUBLISHED = sorted(
    name for name in os.listdir(RESULTS)
    if os.path.isdir(os.path.join(RESULTS, name))) if os.path.isdir(
        RESULTS) else []


def _load_publisher():
    path = os.path.join(ROOT, "experiments", "publish_results.py")
    spec = importlib.util.spec_from_file_location("publish_results", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _table_rows(markdown):
    return [line for line in markdown.splitlines()
            if line.startswith("| ") and not line.startswith("| loss |")
            and not line.startswith("| metric |")]


def test_results_are_published():
    assert len(PUBLISHED) >= 5, PUBLISHED


@pytest.mark.parametrize("name", PUBLISHED)
def test_results_page_tables_are_the_published_ones(name):
    with open(RESULTS_PAGE) as f:
        page = f.read()
    with open(os.path.join(RESULTS, name, "results.md")) as f:
        rows = _table_rows(f.read())
    assert len(rows) >= 2 + 7  # a row per loss, a winner line per metric
    missing = [row for row in rows if row not in page]
    assert not missing, f"{RESULTS_PAGE} differs from {name}: {missing}"
    for plot in ("metrics.png", "curves.png"):
        assert f"]({name}/{plot})" in page
    assert f'<a id="{name}"></a>' in page  # the README's summary links it


def test_every_published_comparison_is_in_the_readme_summary():
    publisher = _load_publisher()
    assert {name for name, _ in publisher.SUMMARY_ROWS} == set(PUBLISHED)


def test_readme_summary_is_computed_from_the_published_results():
    publisher = _load_publisher()
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    table = publisher.summary_table()
    assert table in readme, (
        "README's summary table differs from `python "
        "experiments/publish_results.py --summary`:\n" + table)


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_folder_is_small_and_complete(name):
    folder = os.path.join(RESULTS, name)
    with open(os.path.join(folder, "summary.json")) as f:
        summary = json.load(f)
    assert len(summary["seeds"]) >= 2 and len(summary["losses"]) >= 2
    for plot in ("metrics.png", "curves.png"):
        path = os.path.join(folder, plot)
        assert os.path.getsize(path) < 60_000, path
        assert Image.open(path).mode == "P"


def _toy_comparison(tmp_path):
    """A finished comparison's small outputs, as publish reads them."""
    compare = tmp_path / "compare-toy"
    compare.mkdir()
    (compare / "results.md").write_text("| loss |\n")
    (compare / "summary.json").write_text('{"seeds": [0]}')
    return compare


def test_publish_copies_tables_and_quantises_plots(tmp_path, monkeypatch):
    publisher = _load_publisher()
    compare = _toy_comparison(tmp_path)
    # A gradient has 256 x 256 colours: quantising must bring it to <= 64.
    ramp = np.linspace(0, 255, 256, dtype=np.uint8)
    rgb = np.stack([*np.meshgrid(ramp, ramp), np.zeros((256, 256), np.uint8)],
                   axis=-1)
    for plot in ("metrics.png", "curves.png"):
        Image.fromarray(rgb).save(compare / plot)
    monkeypatch.setattr(publisher, "DOCS", str(tmp_path / "docs"))

    target = publisher.publish(str(compare))

    assert target == str(tmp_path / "docs" / "toy")
    assert (tmp_path / "docs" / "toy" / "results.md").read_text() == "| loss |\n"
    for plot in ("metrics.png", "curves.png"):
        image = Image.open(os.path.join(target, plot))
        assert image.mode == "P" and image.size == (256, 256)
        assert len(image.getcolors()) <= 64


def test_publish_copies_compare_json(tmp_path, monkeypatch):
    publisher = _load_publisher()
    compare = _toy_comparison(tmp_path)
    (compare / "compare.json").write_text('{"steps": 7}')
    for plot in ("metrics.png", "curves.png"):
        Image.new("RGB", (8, 8)).save(compare / plot)
    monkeypatch.setattr(publisher, "DOCS", str(tmp_path / "docs"))

    target = publisher.publish(str(compare))

    with open(os.path.join(target, "compare.json")) as f:
        assert json.load(f) == {"steps": 7}


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_compare_json_is_the_comparisons_invocation(name):
    # written by hand for the folders published before publish copied it:
    # the same data as summary.json, a config in the repository, no sweep
    with open(os.path.join(RESULTS, name, "compare.json")) as f:
        invocation = json.load(f)
    with open(os.path.join(RESULTS, name, "summary.json")) as f:
        summary = json.load(f)
    assert set(invocation) == {"config", "data", "steps", "overrides",
                               "sweep", "evaluate_on"}
    assert invocation["data"] == summary["data"]
    assert os.path.isfile(os.path.join(ROOT, invocation["config"]))
    assert invocation["sweep"] is None and invocation["evaluate_on"] is None
    steps = {run["steps"] for run in summary["runs"]}
    assert invocation["steps"] in (None, *steps) and len(steps) == 1


LEADERBOARD = os.path.join(RESULTS, "leaderboard.md")
LEADERBOARD_COMMAND = "keras-boxloss compare --leaderboard docs/results/*/"
# issue 19's runs at each loss's chosen weight, kept across sessions
CHOSEN = os.path.join(ROOT, "experiments", "chosen-weights")
CHOSEN_COMMAND = ("keras-boxloss compare --leaderboard "
                  "experiments/chosen-weights/*/")


def test_leaderboard_is_generated_from_the_published_results(monkeypatch):
    from keras_boxloss.compare.leaderboard import leaderboard

    monkeypatch.chdir(ROOT)  # compare.json's config paths: from the root
    with open(LEADERBOARD) as f:
        page = f.read()
    assert LEADERBOARD_COMMAND in page
    table = leaderboard([os.path.join("docs", "results", name)
                         for name in PUBLISHED])
    assert table in page, (
        f"{LEADERBOARD} differs from `{LEADERBOARD_COMMAND}`:\n" + table)


def test_chosen_weight_leaderboard_is_generated_from_the_kept_runs(
        monkeypatch):
    """The page's first section: the shell's sorted glob of the kept
    chosen-weight folders, finished or (skipped, named) still running."""
    from keras_boxloss.compare.leaderboard import leaderboard

    monkeypatch.chdir(ROOT)
    with open(LEADERBOARD) as f:
        page = f.read()
    assert CHOSEN_COMMAND in page
    folders = sorted(os.path.join("experiments", "chosen-weights", name)
                     for name in os.listdir(CHOSEN)
                     if os.path.isdir(os.path.join(CHOSEN, name)))
    assert folders
    table = leaderboard(folders)
    assert table in page, (
        f"{LEADERBOARD} differs from `{CHOSEN_COMMAND}`:\n" + table)


def test_readme_chosen_weight_rows_are_the_leaderboard_s():
    """The README's table of issue 19's runs copies the generated
    leaderboard's rows (every one, none edited)."""
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    start = readme.index("### Each loss at its own box-loss weight")
    section = readme[start:readme.index("\n### ", start + 1)]
    with open(LEADERBOARD) as f:
        page = f.read()
    start = page.index(f"Generated by `{CHOSEN_COMMAND}`")
    chosen = page[start:page.index("\n## ", start)]
    results = [line for line in chosen.splitlines()
               if line.startswith(("| bccd |", "| raccoon |"))]
    rows = [line for line in section.splitlines()
            if line.startswith(("| bccd |", "| raccoon |"))]
    assert results and rows == results


def test_readme_sweep_table_is_computed_from_the_kept_sweeps():
    publisher = _load_publisher()
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    table = publisher.sweep_table()
    assert table.count("\n") >= 2 + 3  # header, rule, a row per loss
    assert table in readme, (
        "README's sweep table differs from `python "
        "experiments/publish_results.py --sweep-summary`:\n" + table)


def test_sweep_table_bolds_the_chosen_weight_and_marks_unrun_ones(tmp_path):
    publisher = _load_publisher()
    for loss, ap50, chosen in (("giou", {"1": 0.81, "10": 0.2}, "1"),
                               ("huber", {"0.5": 0.7, "1": 0.9}, "1")):
        (tmp_path / loss).mkdir()
        (tmp_path / loss / "summary.json").write_text(json.dumps(
            {"sweep": {"choices": {loss: {
                "AP50": ap50, "value": chosen, "by_mean_iou": "10"}}}}))
    (tmp_path / "notes").mkdir()  # a folder without a sweep is not a row

    lines = publisher.sweep_table(str(tmp_path)).splitlines()

    assert lines[0] == ("| loss | weight 0.5 | weight 1 | weight 10 "
                        "| chosen (mAP@.5) | by mean IoU |")
    assert lines[2:] == ["| huber | 0.700 | **0.900** | - | 1 | 10 |",
                         "| giou | - | **0.810** | 0.200 | 1 | 10 |"]
