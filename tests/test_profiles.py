import numpy as np
import pytest

from keras_boxloss.profiles import plot_profiles, profile_values


def test_profile_values_by_hand():
    values = profile_values([0.0, 0.5, 1.5])
    for name, v in values.items():
        assert v[0] == pytest.approx(0.0, abs=1e-5), name
    # half a width off: IoU = 0.5 / 1.5; the delta is 10 * 0.5 = 5
    assert values["IoU"][1] == pytest.approx(2 / 3, rel=1e-5)
    assert values["Huber"][1] == pytest.approx(5 - 0.5, rel=1e-6)
    assert values["L2"][1] == pytest.approx(25.0, rel=1e-6)
    # Smooth IoU with lambda = IoU = 1/3
    assert values["Smooth IoU (delta 1)"][1] == pytest.approx(
        (1 / 3) * (2 / 3) + (2 / 3) * 4.5, rel=1e-5)
    # disjoint: IoU is flat at 1, GIoU keeps rising: 1 + 0.5 / 2.5
    assert values["IoU"][2] == pytest.approx(1.0)
    assert values["GIoU"][2] == pytest.approx(1 + 0.5 / 2.5, rel=1e-5)


def test_size_mismatch_never_reaches_zero():
    values = profile_values([0.0], size_ratio=0.5)
    # a box of half the side, centred: IoU 1/4
    assert values["IoU"][0] == pytest.approx(0.75, rel=1e-5)


def test_plot_writes_a_png(tmp_path):
    path = plot_profiles(tmp_path / "p.png", shifts=np.linspace(-1, 1, 11))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
