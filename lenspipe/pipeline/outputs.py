"""One check for every command's output paths: never an input, never a folder.

``lenspipe simulate``, ``prepare`` and ``fit`` call :func:`check_outputs` before any work,
so that a mistyped option cannot overwrite the data it reads, and an ``--out`` naming a
folder is refused at once rather than after a long fit.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError

__all__ = ["check_outputs"]


def _same_file(a, b) -> bool:
    """Whether two paths name the same file (following links; also when neither exists)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_outputs(outputs: dict, inputs: dict) -> None:
    """Refuse output paths that are an input, each other, or a folder.

    Parameters
    ----------
    outputs, inputs : dict
        Option name (as the user typed it, e.g. ``"--out"``) -> path; ``None`` values are
        ignored.

    Raises
    ------
    ConfigError
        Naming both options, so the user sees which path to change.
    """
    outputs = {name: path for name, path in outputs.items() if path}
    inputs = {name: path for name, path in inputs.items() if path}
    for out_name, out_path in outputs.items():
        if Path(out_path).is_dir():
            raise ConfigError(f"{out_name} {str(out_path)!r} is a directory; give the path of the "
                              f"file to write (e.g. {str(Path(out_path) / 'name')!r} with its extension)")
        for in_name, in_path in inputs.items():
            if _same_file(out_path, in_path):
                raise ConfigError(f"{out_name} {str(out_path)!r} is the same file as {in_name}; "
                                  "writing it would overwrite an input: choose another output path")
    names = list(outputs)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            if _same_file(outputs[first], outputs[second]):
                raise ConfigError(f"{first} and {second} are the same file {str(outputs[first])!r}; "
                                  f"choose another path for {second}")
