"""The collapse simulation, small: under replace the fitted sigma falls toward 0, under accumulate it stays near 1
(the effect `examples/collapse_sim.py` shows over 500 generations, through the mixing rule `tether mix` uses)."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np

from tests.conftest import ROOT


def _sim():
    spec = importlib.util.spec_from_file_location("collapse_sim", ROOT / "examples" / "collapse_sim.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


def test_replace_collapses_and_accumulate_does_not(tmp_path):
    sim = _sim()
    # n = 20 per generation: replace's drift (~ -2/n in log variance per generation) shows within 100 generations
    replace = np.median(sim.run("replace", 100, 20, runs=5)[:, -1])
    accumulate = np.median(sim.run("accumulate", 100, 20, runs=5)[:, -1])
    assert replace < 0.1, replace
    assert 0.7 < accumulate < 1.3, accumulate
    out = tmp_path / "collapse.png"
    sim.plot({"replace": sim.run("replace", 10, 20, 2), "accumulate": sim.run("accumulate", 10, 20, 2)}, out, 20)
    assert out.stat().st_size > 1000


def test_both_modes_start_from_the_same_real_data():
    sim = _sim()
    a, b = sim.simulate("replace", 3, 50, seed=7), sim.simulate("accumulate", 3, 50, seed=7)
    assert a[0] == b[0]  # generation 0 is the real rows in both modes
