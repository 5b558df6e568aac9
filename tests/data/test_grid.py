"""Pixel grids (over-sampling is tested in tests/fit/test_oversampling.py)."""

import numpy as np

from lenspipe.data import grid_2d_from, pixel_centres_from


def test_pixel_centres_of_a_3x4_image_follow_conventions():
    # y = (N_y/2 - 0.5 - i) s, x = (j - N_x/2 + 0.5) s with N_y = 3, N_x = 4, s = 0.5
    grid = grid_2d_from((3, 4), 0.5).reshape(3, 4, 2)
    assert grid[0, 0].tolist() == [0.5, -0.75]  # top left
    assert grid[0, 3].tolist() == [0.5, 0.75]  # top right
    assert grid[2, 0].tolist() == [-0.5, -0.75]  # bottom left
    assert grid[2, 3].tolist() == [-0.5, 0.75]  # bottom right
    assert grid[1, 1].tolist() == [0.0, -0.25]
    assert np.array_equal(grid.reshape(-1, 2).mean(axis=0), [0.0, 0.0])


def test_pixel_centres_match_the_grid_for_odd_and_even_shapes():
    for shape in ((5, 4), (4, 7)):
        y, x = pixel_centres_from(shape, 0.2)
        grid = grid_2d_from(shape, 0.2).reshape(shape + (2,))
        assert np.array_equal(grid[:, 0, 0], y) and np.array_equal(grid[0, :, 1], x)
        assert np.all(np.diff(y) < 0) and np.all(np.diff(x) > 0)  # row 0 at the top, column 0 at the left
        assert np.allclose(np.diff(y), -0.2, rtol=1e-12) and np.allclose(np.diff(x), 0.2, rtol=1e-12)
        assert abs(y.mean()) < 1e-15 and abs(x.mean()) < 1e-15  # the image centre is (0, 0)
