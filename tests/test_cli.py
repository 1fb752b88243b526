"""The qkan-experiments command."""

from qkan_lib.__main__ import main


def test_command_line_runs_a_grid_and_prints_a_table(tmp_path, capsys):
    code = main(
        [
            "--datasets",
            "bessel",
            "--models",
            "qkan_lstm",
            "lstm",
            "--seeds",
            "0",
            "1",
            "--epochs",
            "1",
            "--results-dir",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "QKAN-LSTM" in out and "test_r2" in out and "± " in out
    assert len(list(tmp_path.glob("*.json"))) == 4
