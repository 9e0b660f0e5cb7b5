"""Tables and plots exported from the metrics view are created like any file the user saves (umask)."""

from __future__ import annotations

import os
import stat

import pyqtgraph as pg
import pytest

from gui.metrics.export import write_csv, write_plot


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.parametrize("name", ["plot.png", "plot.svg"])
def test_an_exported_plot_is_0644(qtbot, tmp_path, umask_022, name):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.plot([0, 1, 2], [0, 1, 4])
    write_plot(tmp_path / name, plot, width=200)
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_an_exported_table_is_0644(tmp_path, umask_022):
    write_csv(tmp_path / "classes.csv", [["Class", "Recall"], ["cat", 0.5]])
    assert stat.S_IMODE((tmp_path / "classes.csv").stat().st_mode) == 0o644
