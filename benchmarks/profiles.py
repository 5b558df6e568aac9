"""Time every profile on 10^6 points: image (light) or deflections + convergence (mass).

Run as ``python benchmarks/profiles.py [n_points] [repeats]``; the points are a regular
grid in row-major order, like an image's (sub-)pixels. Prints the median of
``repeats`` runs (default 7) in milliseconds, and the time per point. Figures drift from
run to run on shared machines; compare ratios measured in the same run.

A fresh numpy array costs about as much as an arithmetic pass over it (the kernel
zeroes its pages) whenever glibc hands freed memory back to the system, which it does
for arrays of this size. Running with ``MALLOC_TRIM_THRESHOLD_=2000000000
MALLOC_MMAP_THRESHOLD_=1000000000`` in the environment shows the figures without that
cost (up to 2-3x faster for the cheapest profiles at 1e5 points).
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from lenspipe import profiles
from lenspipe.profiles import geometry

ELL = geometry.ell_comps_from(0.7, 0.5)


def light_profiles():
    return [
        profiles.Sersic(ell_comps=ELL, intensity=2.0, effective_radius=0.8, sersic_index=3.0),
        profiles.SersicSph(intensity=2.0, effective_radius=0.8, sersic_index=3.0),
        profiles.Exponential(ell_comps=ELL, intensity=2.0, effective_radius=0.8),
        profiles.DevVaucouleurs(ell_comps=ELL, intensity=2.0, effective_radius=0.8),
        profiles.Gaussian(ell_comps=ELL, intensity=2.0, sigma=0.5),
        profiles.GaussianSph(intensity=2.0, sigma=0.5),
    ]


def mass_profiles():
    return [
        profiles.Isothermal(ell_comps=ELL, einstein_radius=1.2),
        profiles.IsothermalSph(einstein_radius=1.2),
        profiles.PowerLaw(ell_comps=ELL, einstein_radius=1.2, slope=2.2),
        profiles.PowerLawSph(einstein_radius=1.2, slope=2.2),
        profiles.NFW(ell_comps=ELL, kappa_s=0.1, scale_radius=10.0),
        profiles.NFWSph(kappa_s=0.1, scale_radius=10.0),
        profiles.ExternalShear(gamma_1=0.02, gamma_2=0.01),
        profiles.PointMass(einstein_radius=0.5),
    ]


def median_ms(function, repeats):
    function()  # warm up (allocator, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main(n_points=10**6, repeats=7):
    side = int(round(np.sqrt(n_points)))
    n_points = side * side
    # A regular grid in row-major order, like the (sub-)pixels of an image.
    y, x = np.meshgrid(np.linspace(3.0, -3.0, side), np.linspace(-3.0, 3.0, side), indexing="ij")
    grid = np.stack([y.ravel(), x.ravel()], axis=-1)
    print(f"{n_points:,} points ({side} x {side} over 6 x 6 arcsec), median of {repeats} runs")
    print(f"{'profile':<20} {'what':<26} {'ms':>9} {'ns/point':>9}")
    for profile in light_profiles():
        ms = median_ms(lambda: profile.image_from(grid), repeats)
        print(f"{type(profile).__name__:<20} {'image':<26} {ms:9.2f} {1e6 * ms / n_points:9.2f}")
    for profile in mass_profiles():
        for what, method in (
            ("deflections", profile.deflections_yx_from),
            ("convergence", profile.convergence_from),
        ):
            ms = median_ms(lambda: method(grid), repeats)
            print(f"{type(profile).__name__:<20} {what:<26} {ms:9.2f} {1e6 * ms / n_points:9.2f}")
    terms = len(profiles.power_law.hypergeometric_coefficients(1.2, (1 - 0.7) / (1 + 0.7)))
    print(f"(PowerLaw at q = 0.7, slope 2.2 sums {terms} series terms; NFW uses "
          f"{profiles.nfw.QUADRATURE_NODES} quadrature nodes)")


if __name__ == "__main__":
    args = [int(float(a)) for a in sys.argv[1:]]
    main(*args)
