"""Compiled kernels of the inversion: the mapping matrix, the curvature matrix, Delaunay point location.

The two products that dominate a pixelized likelihood are scalar sparse loops with no
vectorised numpy form: ``M`` from the mapper's interpolation entries, and ``F = (P M)^T W (P M)``
with ``P`` the PSF over the fitted pixels. scipy's sparse-sparse products form ``P M`` as a
matrix and then ``F`` from it, which costs about 100 ms on P3 (``benchmarks/inversion.py``);
here the rows of ``P M`` are formed a small tile of fitted pixels at a time as a dense block,
whose ``B^T W B`` is added into a dense ``F``; ``B = P M`` is never stored.

Compiled with numba (``cache=True``: the first use on a machine compiles for a few seconds
and stores the result beside this module or in numba's user cache; ``nogil=True``: threads
run them in parallel).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["mapping_matrix_csr", "curvature_lower", "delaunay_locate"]


@numba.njit(cache=True, nogil=True)
def mapping_matrix_csr(indices, weights, sizes, point_indptr, source_pixels):
    """CSR arrays of the mapping matrix M (N x S) from a mapper's point entries.

    Parameters
    ----------
    indices : ndarray of int64, shape (M, k)
        Source pixels of each point's interpolation.
    weights : ndarray, shape (M, k)
    sizes : ndarray of int64, shape (M,)
        Entries used in each row (the rest are padding).
    point_indptr : ndarray of int64, shape (N + 1,)
        Fitted pixel i's points are rows ``point_indptr[i]`` to ``point_indptr[i + 1] - 1``;
        each of its entries counts ``weight / (its number of points)``.
    source_pixels : int
        S.

    Returns
    -------
    indptr : ndarray of int64, shape (N + 1,)
    columns : ndarray of int64
    values : ndarray
        Entries of the same source pixel within a fitted pixel are summed.
    """
    pixels = point_indptr.shape[0] - 1
    indptr = np.zeros(pixels + 1, np.int64)
    columns = np.empty(indices.shape[0] * indices.shape[1], np.int64)
    values = np.empty(indices.shape[0] * indices.shape[1])
    slot = np.full(source_pixels, -1, np.int64)
    n = 0
    for i in range(pixels):
        start = n
        scale = 1.0 / (point_indptr[i + 1] - point_indptr[i])
        for point in range(point_indptr[i], point_indptr[i + 1]):
            for j in range(sizes[point]):
                a = indices[point, j]
                if slot[a] < start:  # first entry of pixel a in this row
                    slot[a] = n
                    columns[n] = a
                    values[n] = weights[point, j] * scale
                    n += 1
                else:
                    values[slot[a]] += weights[point, j] * scale
        indptr[i + 1] = n
    return indptr, columns[:n], values[:n]


@numba.njit(cache=True, nogil=True)
def curvature_lower(m_indptr, m_columns, m_values, p_indptr, p_halo, p_values, inverse_variance, order,
                    tile_indptr, halo_indptr, halo, columns_in, f, f_columns):
    """Add to ``f`` the lower triangle of ``F = B^T W B`` (dense, S x S) from tiles of fitted pixels,
    and to ``f_columns`` the products ``B^T W X`` of image-plane columns ``X`` (the data vector
    ``D = B^T W d`` and the linear light profiles' ``C = B^T W E``) from the same blocks.

    For each tile (a small square of fitted pixels), its rows of ``B = P M`` (row i is
    ``sum_k P_ik M_k``) are formed as a dense (T, U) block over the U source pixels they touch,
    ``B_t^T W_t B_t`` is one dense product, and its lower triangle is added to ``f``. Tiles
    rather than single pixels because neighbouring pixels touch nearly the same source pixels:
    the scattered additions into ``f`` fall from ``sum_i U_i^2`` to ``sum_t U_t^2``.

    The tile's halo (the pixels its PSF rows reach) is read from ``M`` once: each halo pixel's
    entries are put in the block's column numbering first, and the block is then summed from
    them with ``P``'s entries addressed by halo position (``p_halo``). Reading ``M`` row by row
    for every (pixel, PSF entry) pair instead visits each halo pixel's entries about 25 times
    for a 15 x 15 PSF (J0029-0055: 54 ms against 74-92 ms for the whole ``F``).

    Parameters
    ----------
    m_indptr, m_columns, m_values
        M in CSR (:func:`mapping_matrix_csr`).
    p_indptr, p_halo, p_values
        The PSF matrix P (N x N) in CSR, each entry's column given as its position in the
        row's tile's halo (int64).
    inverse_variance : ndarray, shape (N,)
        W, 1 / noise^2 (1 / image units^2).
    order : ndarray of int64, shape (N,)
        The fitted pixels tile by tile.
    tile_indptr : ndarray of int64
        Tile t holds ``order[tile_indptr[t]:tile_indptr[t + 1]]``.
    halo_indptr, halo : ndarray of int64
        Tile t's halo is ``halo[halo_indptr[t]:halo_indptr[t + 1]]`` (fitted pixels).
    columns_in : ndarray, shape (N, R)
        X, R image-plane columns over the fitted pixels (R may be 0).
    f : ndarray, shape (S, S)
        Added to in place (its upper triangle is left as it is).
    f_columns : ndarray, shape (S, R)
        Added to in place.
    """
    source_pixels = f.shape[0]
    width = columns_in.shape[1]
    local = np.full(source_pixels, -1, np.int64)
    columns = np.empty(source_pixels, np.int64)
    for t in range(len(tile_indptr) - 1):
        start, stop = tile_indptr[t], tile_indptr[t + 1]
        h0, h1 = halo_indptr[t], halo_indptr[t + 1]
        count = 0
        for h in range(h0, h1):
            count += m_indptr[halo[h] + 1] - m_indptr[halo[h]]
        entry_column = np.empty(count, np.int64)  # the halo's M entries, in block columns
        entry_value = np.empty(count)
        entry_start = np.empty(h1 - h0 + 1, np.int64)
        used = 0
        n = 0
        for h in range(h0, h1):
            entry_start[h - h0] = n
            for r in range(m_indptr[halo[h]], m_indptr[halo[h] + 1]):
                a = m_columns[r]
                if local[a] < 0:
                    local[a] = used
                    columns[used] = a
                    used += 1
                entry_column[n] = local[a]
                entry_value[n] = m_values[r]
                n += 1
        entry_start[h1 - h0] = n
        block = np.zeros((stop - start, used))
        weighted = np.empty((stop - start, used))
        for q0 in range(start, stop):
            i = order[q0]
            row = q0 - start
            for q in range(p_indptr[i], p_indptr[i + 1]):
                h = p_halo[q]
                psf = p_values[q]
                for e in range(entry_start[h], entry_start[h + 1]):
                    block[row, entry_column[e]] += psf * entry_value[e]
            w = inverse_variance[i]
            for x in range(used):
                weighted[row, x] = w * block[row, x]
        product = np.dot(block.T, weighted)
        for x in range(used):
            a = columns[x]
            for y in range(used):
                b = columns[y]
                if b <= a:
                    f[a, b] += product[x, y]
        if width:
            tile_columns = np.empty((stop - start, width))
            for q0 in range(start, stop):
                for c in range(width):
                    tile_columns[q0 - start, c] = columns_in[order[q0], c]
            projected = np.dot(weighted.T, tile_columns)
            for x in range(used):
                for c in range(width):
                    f_columns[columns[x], c] += projected[x, c]
        for x in range(used):
            local[columns[x]] = -1


@numba.njit(cache=True, nogil=True)
def _barycentric(vertices, simplices, t, y, x, out):
    """Barycentric coordinates of (y, x) in triangle t, into ``out`` (3,)."""
    a, b, c = simplices[t, 0], simplices[t, 1], simplices[t, 2]
    ay, ax = vertices[a, 0], vertices[a, 1]
    v0y, v0x = vertices[b, 0] - ay, vertices[b, 1] - ax
    v1y, v1x = vertices[c, 0] - ay, vertices[c, 1] - ax
    py, px = y - ay, x - ax
    det = v0y * v1x - v0x * v1y
    out[1] = (py * v1x - px * v1y) / det
    out[2] = (v0y * px - v0x * py) / det
    out[0] = 1.0 - out[1] - out[2]


@numba.njit(cache=True, nogil=True)
def delaunay_locate(vertices, simplices, neighbours, points):
    """Each point's Delaunay triangle and barycentric weights, by a walk from the last point's triangle.

    Consecutive points (a fitted pixel's sub-points, neighbouring pixels) lie close together
    in the source plane, so the walk takes a few steps a point. From triangle t, it steps
    across the edge opposite the most negative barycentric coordinate; a step across a hull
    edge means the point is outside the triangulation (the hull is convex).

    Parameters
    ----------
    vertices : ndarray, shape (V, 2)
    simplices : ndarray of int, shape (T, 3)
    neighbours : ndarray of int, shape (T, 3)
        The triangle opposite each vertex, -1 across the hull (``scipy.spatial.Delaunay.neighbors``).
    points : ndarray, shape (M, 2)

    Returns
    -------
    simplex : ndarray of int64, shape (M,)
        The triangle of each point; -1 outside the triangulation, -2 where the walk did not
        end (degenerate triangles; the caller locates these another way).
    weights : ndarray, shape (M, 3)
        Barycentric weights of the triangle's vertices (undefined where simplex < 0).
    """
    count = points.shape[0]
    triangles = simplices.shape[0]
    simplex = np.empty(count, np.int64)
    weights = np.zeros((count, 3))
    coordinates = np.empty(3)
    t = 0
    for m in range(count):
        y, x = points[m, 0], points[m, 1]
        found = -2
        for _ in range(triangles):
            _barycentric(vertices, simplices, t, y, x, coordinates)
            worst = 0
            if coordinates[1] < coordinates[worst]:
                worst = 1
            if coordinates[2] < coordinates[worst]:
                worst = 2
            if coordinates[worst] >= -1e-12:
                found = t
                break
            step = neighbours[t, worst]
            if step < 0:
                found = -1
                break
            t = step
        simplex[m] = found
        if found >= 0:
            weights[m, 0], weights[m, 1], weights[m, 2] = coordinates[0], coordinates[1], coordinates[2]
    return simplex, weights
