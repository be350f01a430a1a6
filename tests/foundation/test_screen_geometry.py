"""Geometry for the screen: Web Mercator pixels, bounded-error simplification, render comparison
(geo.webmercator, geo.screen_simplify, geo.render_diff) on small hand-drawn shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

from geo import render_diff, screen_simplify, webmercator

PARIS = (2.35, 48.86)


def _wiggly_square(lon: float, lat: float, *, size: float = 0.01, wiggle: float = 0.00002, n: int = 200) -> Polygon:
    """A square of ``size`` degrees whose sides zig-zag by ``wiggle`` degrees (a few metres)."""
    t = np.linspace(0, 1, n, endpoint=False)
    sides = []
    for (x0, y0), (x1, y1) in [((0, 0), (1, 0)), ((1, 0), (1, 1)), ((1, 1), (0, 1)), ((0, 1), (0, 0))]:
        xs, ys = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
        offset = wiggle * ((np.arange(n) % 2) * 2 - 1) / size
        nx, ny = -(y1 - y0), (x1 - x0)
        sides.append(np.column_stack([xs + nx * offset, ys + ny * offset]))
    ring = np.vstack(sides) * size + (lon, lat)
    return Polygon(ring)


def test_pixels_round_trip_and_scale():
    xy = np.array([[2.35, 48.86], [-61.5, 16.2], [55.5, -21.1]])
    back = webmercator.pixels_to_lonlat(webmercator.lonlat_to_pixels(xy, zoom=12), zoom=12)
    assert np.allclose(back, xy, atol=1e-9)
    assert webmercator.world_size(0) == 256
    # one pixel at zoom 12: about 38 m at the equator, 25 m in Paris
    assert webmercator.metres_per_pixel(0, zoom=12) == pytest.approx(38.2, abs=0.1)
    assert webmercator.metres_per_pixel(48.86, zoom=12) == pytest.approx(25.1, abs=0.1)
    a, b = webmercator.to_pixels(shapely.points([[0.0, 0.0], [360 / 2**20, 0.0]]), zoom=12)
    assert b.x - a.x == pytest.approx(1.0)  # 2**20 pixels around the world at zoom 12


def test_pixels_reject_bad_zoom_and_window():
    with pytest.raises(ValueError, match="zoom: expected a number from 0 to 24, got 30"):
        webmercator.world_size(30)
    with pytest.raises(ValueError, match="zoom: expected a number from 0 to 24, got True"):
        webmercator.to_pixels(shapely.Point(0, 0), zoom=True)
    with pytest.raises(ValueError, match="width, height: expected positive integers, got 0, 900"):
        webmercator.pixel_window(0, 0, zoom=12, width=0, height=900)


def test_simplify_for_zoom_bounds_the_error_on_screen():
    shape = _wiggly_square(*PARIS)
    out = screen_simplify.simplify_for_zoom([shape], zoom=12, max_error_px=0.9)
    assert shapely.get_num_coordinates(out[0]) < shapely.get_num_coordinates(shape) / 20  # zig-zags gone
    error = shapely.hausdorff_distance(webmercator.to_pixels(shape, zoom=12), webmercator.to_pixels(out[0], zoom=12))
    assert error <= 0.9 + 0.25  # the bound, plus the rounding to 4 decimals (a fifth of a pixel)
    coords = shapely.get_coordinates(out)
    assert np.allclose(coords, np.round(coords, 4), atol=1e-12)  # on the grid the browser receives
    # the same shape needs more detail at zoom 16: a tighter result
    fine = screen_simplify.simplify_for_zoom([shape], zoom=16, max_error_px=0.9, grid_decimals=6)
    assert shapely.get_num_coordinates(fine[0]) >= shapely.get_num_coordinates(out[0])


def test_simplify_for_zoom_keeps_shared_borders_shared():
    left = _wiggly_square(*PARIS)
    right = box(PARIS[0] + 0.005, PARIS[1] + 0.001, PARIS[0] + 0.02, PARIS[1] + 0.009).difference(left)
    alone = _wiggly_square(PARIS[0] + 0.1, PARIS[1])
    out = screen_simplify.simplify_for_zoom([left, right, alone], zoom=12, max_error_px=0.9)
    assert shapely.coverage_is_valid(out)  # no overlap between the neighbours
    assert shapely.intersection(out[0], out[1]).length > 0.0075  # their common border is still common
    gap = shapely.union_all(out[:2]).area - shapely.union_all([left, right]).area
    assert abs(gap) < 0.01 * shapely.union_all([left, right]).area
    for before, after in zip([left, right, alone], out, strict=True):
        error = shapely.hausdorff_distance(webmercator.to_pixels(before, zoom=12), webmercator.to_pixels(after, zoom=12))
        assert error <= 0.9 + 0.25


def test_simplify_for_zoom_rejects_bad_arguments():
    with pytest.raises(ValueError, match="max_error_px: expected a positive number of pixels, got 0"):
        screen_simplify.simplify_for_zoom([box(0, 0, 1, 1)], zoom=12, max_error_px=0)
    with pytest.raises(ValueError, match="grid_decimals: expected an integer from 0 to 9, got 12"):
        screen_simplify.simplify_for_zoom([box(0, 0, 1, 1)], zoom=12, max_error_px=1, grid_decimals=12)
    with pytest.raises(ValueError, match="zoom: expected a number from 0 to 24"):
        screen_simplify.simplify_for_zoom([box(0, 0, 1, 1)], zoom=-1, max_error_px=1)
    with pytest.raises(ValueError, match="expected Polygon or MultiPolygon"):
        screen_simplify.simplify_for_zoom([shapely.Point(0, 0)], zoom=12, max_error_px=1)


def test_touching_groups():
    labels = screen_simplify.touching_groups([box(0, 0, 1, 1), box(1, 0, 2, 1), box(5, 5, 6, 6), box(2, 0, 3, 1)])
    assert labels[0] == labels[1] == labels[3] != labels[2]


def test_render_diff_sees_nothing_between_equal_layers_and_a_shift_when_there_is_one():
    square = box(PARIS[0] - 0.01, PARIS[1] - 0.01, PARIS[0] + 0.01, PARIS[1] + 0.01)
    same = render_diff.compare_rendering([square], [square], lon=PARIS[0], lat=PARIS[1], zoom=12)
    assert same.drawn_pixels > 1000
    assert same.fill_differing == same.outline_differing == 0 and same.mean_shift_px == 0
    # moved east by two pixels at zoom 12
    dx = 2 * 360 / webmercator.world_size(12)
    moved = shapely.affinity.translate(square, xoff=dx)
    diff = render_diff.compare_rendering([square], [moved], lon=PARIS[0], lat=PARIS[1], zoom=12)
    side_px = 0.02 * webmercator.world_size(12) / 360
    rows = math.ceil(side_px * 1.52)  # the square is 1.52 times taller than wide in Mercator at Paris
    assert 4 * rows <= diff.fill_differing <= 5 * rows  # two 2-px strips (give or take a sample per row)
    assert diff.mean_shift_px == pytest.approx(2 * 2 * 1.52 * side_px / (2 * 1.52 * side_px + 2 * side_px), rel=0.1)
    assert diff.outline_share > 0


def test_rasterize_keeps_holes_empty_and_checks_supersample():
    window = box(0, 0, 20, 20)
    ring = box(2, 2, 18, 18).difference(box(6, 6, 14, 14))
    cover = render_diff.rasterize([ring], window, supersample=4)
    assert cover.shape == (20, 20)
    assert cover[10, 10] == 0 and cover[3, 3] == 1 and cover[0, 0] == 0
    # Pillow fills the samples on an edge too: a sample of bias, the same for both layers compared
    assert cover.sum() == pytest.approx(16 * 16 - 8 * 8, rel=0.03)
    with pytest.raises(ValueError, match="supersample: expected an integer from 1 to 16, got 0"):
        render_diff.rasterize([ring], window, supersample=0)
