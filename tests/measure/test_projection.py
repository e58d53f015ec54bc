"""The 2-D map: PCA recovers planted structure, and the PNG is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tether.measure.projection import concept_map, pca_2d


def test_pca_finds_the_axis_of_largest_spread() -> None:
    rng = np.random.default_rng(0)
    x = np.zeros((200, 16))
    x[:, 3] = rng.normal(0, 10, 200)  # the big axis
    x[:, 7] = rng.normal(0, 3, 200)
    x += rng.normal(0, 0.01, x.shape)
    pts, explained = pca_2d(x)
    assert pts.shape == (200, 2) and explained[0] > 0.85 and explained[0] > explained[1] > 0.05
    assert abs(np.corrcoef(pts[:, 0], x[:, 3])[0, 1]) > 0.999


def test_degenerate_inputs_still_draw(tmp_path: Path) -> None:
    assert pca_2d(np.zeros((0, 4)))[0].shape == (0, 2)
    pts, _ = pca_2d(np.ones((3, 4)))  # identical points
    assert pts.shape == (3, 2) and np.allclose(pts, 0)
    png = concept_map(tmp_path / "one.png", np.ones((1, 4)), ["human"], [""])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_map_png_has_every_kind(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(30, 8))
    origin = ["chunk"] * 10 + ["human"] * 10 + ["synthetic"] * 10
    concept = (["parking", "tram", ""] * 10)[:30]
    png = concept_map(tmp_path / "map.png", emb, origin, concept, "test")
    assert png.stat().st_size > 5_000
