from keras_boxloss.cli.main import main


def test_demo_prints_a_row_per_loss(capsys):
    assert main(["demo", "--losses", "huber,giou", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()
            if line.split()[:1] in (["huber"], ["giou"])]
    assert [row[0] for row in rows] == ["huber", "giou"]
    for row in rows:
        before, after = float(row[3]), float(row[4])
        assert 0.0 <= before <= 1.0 and 0.0 <= after <= 1.0


def test_unknown_loss_is_one_clear_line(capsys):
    assert main(["demo", "--losses", "no_such_loss"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("keras-boxloss demo: error: Expected `loss`")
    assert "Received: loss='no_such_loss'" in err and len(err.splitlines()) == 1


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out
