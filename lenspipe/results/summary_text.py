"""A plain-text summary of a result file, for a person at a terminal (`lenspipe show`).

:func:`summary_text` reads only what a :class:`~lenspipe.results.Result` holds
(no sample arrays are needed): the header attributes, the search's settings and
diagnostics, and the ``summary`` JSON. Every key of the search and summary JSON
is optional; what is missing prints as ``n/a``.
"""

from __future__ import annotations

import math
import re

__all__ = ["summary_text", "format_number"]

_KEY_WIDTH = 24


def format_number(value, digits: int = 5) -> str:
    """``value`` to ``digits`` significant figures; ``n/a`` for None, text as is."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _line(key: str, value) -> str:
    return f"  {key:<{_KEY_WIDTH}}{value}"


def _search_fields(result):
    """(settings, diagnostics) dicts of the search JSON, plus the summary's convergence."""
    search = result.search if isinstance(result.search, dict) else {}
    settings = {k: v for k, v in search.items() if k not in ("diagnostics", "settings")}
    if isinstance(search.get("settings"), dict):
        settings.update(search["settings"])
    diagnostics = dict((result.summary or {}).get("convergence") or {})
    if isinstance(search.get("diagnostics"), dict):
        diagnostics.update(search["diagnostics"])
    return settings, diagnostics


def _lookup(key, *sources):
    for source in sources:
        if source.get(key) is not None:
            return source[key]
    return None


def _max_finite(values):
    """(largest finite value or None, count of non-finite entries) of a list."""
    if values is None:
        return None, 0
    values = values if isinstance(values, (list, tuple)) else [values]
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return (max(finite) if finite else None), len(values) - len(finite)


def _header(result) -> list[str]:
    lines = [f"lenspipe result {result.identifier}",
             _line("unique_tag", result.unique_tag),
             _line("stage", result.name)]
    if result.path_prefix:
        lines.append(_line("path prefix", result.path_prefix))
    if result.parent_identifier:
        lines.append(_line("parent", result.parent_identifier))
    lines += [
        _line("completed", "yes" if result.completed else "NO (unfinished search)"),
        _line("seed", result.seed),
        _line("config hash", result.config_hash or "n/a"),
        _line("lenspipe version", result.lenspipe_version),
        _line("created", result.created),
    ]
    if result.parameters is not None:
        lines.append(_line("samples", f"{len(result.parameters)} x {len(result.parameter_paths)}"
                                      " parameters"))
    return lines


def _duration(seconds) -> str:
    if seconds is None:
        return "n/a"
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds:.0f} s ({seconds / 60:.1f} min)"
    return f"{seconds:.0f} s ({seconds / 3600:.2f} h)"


def _start(initialisation) -> str:
    """Where the walkers started: the mode, the optimiser's cost and best value, and
    each start's best value when there were several."""
    if not isinstance(initialisation, dict) or not initialisation.get("mode"):
        return ""
    text = str(initialisation["mode"])
    if initialisation.get("evaluations") is not None:
        starts = initialisation.get("starts") or []
        text += (f" ({len(starts)} starts)" if len(starts) > 1 else "")
        text += (f": {format_number(initialisation['evaluations'])} evaluations"
                 f", {_duration(initialisation.get('wall_time_s'))}")
        best = initialisation.get("best_log_posterior")
        if best is not None:
            text += f", best log posterior {float(best):.3f}"
        cheap = initialisation.get("optimiser_sub_size")
        if len(starts) > 1:
            values = [start.get("best_log_posterior") for start in starts]
            text += (" (each start" + (f", on {cheap} x {cheap} point(s) per pixel" if cheap else "") + ": "
                     + ", ".join("n/a" if v is None else f"{float(v):.1f}" for v in values) + ")")
        polish = initialisation.get("polish")
        if isinstance(polish, dict):
            text += f"; polished under the fit's likelihood in {format_number(polish.get('evaluations'))} evaluations"
    elif initialisation.get("matched_paths"):
        text += f": {len(initialisation['matched_paths'])} parameters from earlier results"
    return text


def _convergence(result) -> list[str]:
    settings, diagnostics = _search_fields(result)
    both = (diagnostics, settings)
    lines = ["", "Search"]
    kind = _lookup("type", settings) or _lookup("class", settings)
    if kind is not None:
        lines.append(_line("search", kind))
    steps, max_steps = _lookup("steps", *both), _lookup("max_steps", settings)
    lines.append(_line("steps", format_number(steps)
                       + ("" if max_steps is None else f" (max {format_number(max_steps)})")))
    lines.append(_line("walkers", format_number(_lookup("nwalkers", *both)
                                                 or _lookup("walkers", *both))))
    start = _start(settings.get("initialisation"))
    if start:
        lines.append(_line("start", start))

    tau, bad_tau = _max_finite(_lookup("tau", diagnostics))
    burn_in_taus = _lookup("burn_in_taus", settings)
    tau_text = format_number(tau, 4) + (f" ({bad_tau} non-finite)" if bad_tau else "")
    lines.append(_line("max tau", tau_text))
    burn_in = _lookup("burn_in", diagnostics)
    if burn_in is not None:
        burn_text = f"{format_number(burn_in)} steps (discarded)"
        if tau is not None and burn_in_taus is not None:
            needed = float(burn_in_taus) * tau
            burn_text += (f"; needs >= {format_number(float(burn_in_taus))} x {format_number(tau, 4)} = "
                          f"{format_number(needed, 4)} ({'met' if burn_in >= needed else 'not met'})")
        lines.append(_line("burn-in", burn_text))
    ess = [v for key in ("ess_bulk", "ess_tail") for v in (diagnostics.get(key) or [])]
    if ess:
        finite = [float(v) for v in ess if v is not None and math.isfinite(float(v))]
        ess_text = format_number(min(finite), 4) if len(finite) == len(ess) else "n/a (not estimable yet)"
        ess_min = _lookup("ess_min", settings)
        if ess_min is not None:
            ess_text += f" (needs >= {format_number(float(ess_min))})"
        lines.append(_line("min ESS (bulk, tail)", ess_text))
    rhat, bad_rhat = _max_finite(_lookup("rhat", diagnostics))
    rhat_max = _lookup("rhat_max", settings)
    rhat_text = ("n/a" if rhat is None else f"{rhat:.4f}") + (f" ({bad_rhat} non-finite)" if bad_rhat else "")
    if rhat_max is not None:
        rhat_text += f" (limit {format_number(float(rhat_max), 4)})"
    lines.append(_line("max split-R-hat", rhat_text))
    walkers_rhat, _ = _max_finite(_lookup("rhat_walkers", diagnostics))
    if walkers_rhat is not None:
        lines.append(_line("  walker by walker", f"{walkers_rhat:.4f} (not a stopping rule)"))
    converged = _lookup("converged", diagnostics)
    lines.append(_line("converged", "n/a" if converged is None else format_number(bool(converged))))
    lines.append(_line("evaluations", format_number(_lookup("evaluations", diagnostics))))
    lines.append(_line("discarded", format_number(_lookup("discarded", diagnostics))))
    wall = _lookup("wall_time", diagnostics)
    lines.append(_line("wall time", _duration(wall)))
    lines.append(_line("evaluations per second",
                       format_number(_lookup("evaluations_per_second", diagnostics), 4)))
    return lines


def _interval(entry, sigma):
    low, high = entry.get(f"lower_{sigma}"), entry.get(f"upper_{sigma}")
    return f"[{format_number(low)}, {format_number(high)}]"


def _table(heading, names, columns, rows) -> list[str]:
    """A left-aligned name column and right-aligned value columns."""
    if not rows:
        return ["", f"{heading}: none"]
    widths = [max(len(names), *(len(row[0]) for row in rows))]
    widths += [max(len(column), *(len(row[i + 1]) for row in rows))
               for i, column in enumerate(columns)]
    lines = ["", heading]

    def render(cells):
        text = f"  {cells[0]:<{widths[0]}}"
        return text + "".join(f"  {cell:>{width}}" for cell, width in zip(cells[1:], widths[1:]))

    lines.append(render([names, *columns]))
    lines.append(render(["-" * width for width in widths]))
    lines += [render(row) for row in rows]
    return lines


def _parameter_rows(result) -> list[list[str]]:
    summary = result.summary or {}
    best = summary.get("max_log_likelihood_instance") or {}
    median = summary.get("median_pdf_instance") or {}
    errors = summary.get("errors") or {}
    paths = list(result.parameter_paths or []) or list(errors)
    return [[path, format_number(best.get(path)), format_number(median.get(path)),
             _interval(errors.get(path) or {}, 1), _interval(errors.get(path) or {}, 3)]
            for path in paths]


def _latent_rows(result) -> list[list[str]]:
    latent = (result.summary or {}).get("latent") or {}
    return [[name, format_number((latent[name] or {}).get("median")), _interval(latent[name] or {}, 1),
             _interval(latent[name] or {}, 3)] for name in sorted(latent, key=_natural_key)]


def _natural_key(name: str) -> list:
    """Numbers in a name compare as numbers: an MGE's intensity_2 before intensity_10."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name)]


def _likelihood(result) -> list[str]:
    summary = result.summary or {}
    best, evidence = summary.get("max_log_likelihood"), summary.get("log_evidence")
    lines = ["",
             _line("max log-likelihood", "n/a" if best is None else f"{float(best):.3f}"),
             _line("log evidence", "not estimated" if evidence is None else f"{float(evidence):.3f}")]
    fit_evidence = summary.get("fit_log_evidence")
    if fit_evidence is not None:  # a pixelized source: its Bayesian evidence at the best model
        reconstruction = getattr(result, "reconstruction", None)
        what = "" if reconstruction is None else (f" ({reconstruction.mesh} {len(reconstruction.values)} pixels, "
                                                  f"{reconstruction.regularization})")
        lines.append(_line("fit log evidence", f"{float(fit_evidence):.3f}{what}"))
    warnings = summary.get("warnings") or []
    lines += ["", f"warnings ({len(warnings)})" if warnings else "warnings: none"]
    lines += [f"  ! [{w.get('code')}] {w.get('message')}" for w in warnings]
    return lines


def summary_text(result) -> str:
    """A fixed-width text summary of a result, as ``lenspipe show`` prints it.

    Sections: the header (identifier, unique_tag, stage, completed, seed,
    config hash, lenspipe version, created); the search's convergence
    diagnostics (steps, walkers, start, burn-in, min ESS, max tau, max nested
    split-R-hat and the walker-by-walker value, converged,
    evaluations, discarded, wall time, evaluations per second); the parameters (maximum-likelihood value, weighted
    median, values at 1 and 3 sigma); the latent variables likewise (no
    maximum-likelihood value); the maximum log-likelihood and log evidence, a
    pixelized source's fit log evidence, and the fit's warnings
    (:mod:`lenspipe.results.warnings`).
    Numbers have 5 significant figures, log-likelihoods 3 decimals.

    Parameters
    ----------
    result : Result
        As read by :func:`~lenspipe.results.read_result` (``samples=False`` is enough).

    Returns
    -------
    str
        Lines joined by newlines, ending with a newline.
    """
    lines = _header(result) + _convergence(result)
    lines += _table("Parameters", "path",
                    ["max likelihood", "median", "1-sigma interval", "3-sigma interval"],
                    _parameter_rows(result))
    lines += _table("Latent variables", "name", ["median", "1-sigma interval", "3-sigma interval"],
                    _latent_rows(result))
    lines += _likelihood(result)
    return "\n".join(lines) + "\n"
