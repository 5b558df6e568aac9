"""The ``lenspipe`` command line, every command but ``fit``.

- ``lenspipe --help`` lists the commands, ``--version`` prints the installed version;
- each command's ``--help`` exits 0 and lists its options with their defaults;
- an error the user causes exits with code 2 and prints one line on stderr,
  ``lenspipe COMMAND: error: ...``, naming the problem, never a traceback
  (:func:`lenspipe.cli.main`).

Most tests call :func:`lenspipe.cli.main` in-process; two run the installed ``lenspipe``
console script in a subprocess to show the exit code and stderr end to end. Inputs are
tiny files built with the test helpers (tests/data/helpers.py, tests/results/synthetic.py);
nothing is fitted.
"""

import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import h5py
import numpy as np
import pytest

from data.helpers import gaussian_psf, write_fits
from lenspipe.cli import build_parser, main
from lenspipe.database import ingest
from lenspipe.database.commands import DEFAULT_COLUMNS
from results.synthetic import make_result, write

COMMANDS = ["simulate", "prepare", "show", "ingest", "query", "status"]

#: A simulation spec's keys besides ``truth`` (tiny: 12x12 pixels, 3x3 PSF).
SIM = "shape: [12, 12], pixel_scale: 0.1, psf_sigma: 0.1, psf_shape: [3, 3], mask_radius: 0.5"
TRUTH = ("truth: {lens: {mass: {class: IsothermalSph, centre: [0, 0], einstein_radius: 0.5}}, "
         "source: {bulge: {class: ExponentialSph, centre: [0, 0], intensity: 1.0, effective_radius: 0.1}}}")


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    """argparse wraps help at the terminal width (COLUMNS): keep option lines whole."""
    monkeypatch.setenv("COLUMNS", "200")


def run(capsys, *argv):
    """``(exit code, stdout, stderr)`` of ``lenspipe ARGV`` run in-process."""
    try:
        code = main([str(arg) for arg in argv])
    except SystemExit as exit_:  # argparse: --help, --version, usage errors
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_user_error(result, command, *expected):
    """Exit code 2, nothing on stdout, one stderr line naming the problem, no traceback."""
    code, out, err = result
    assert "Traceback" not in err
    assert code == 2, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"lenspipe {command}: error: "), err
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


def assert_usage_error(result, command, *expected):
    """An argparse usage error: exit 2, usage on stderr, last line ``lenspipe COMMAND: error:``."""
    code, out, err = result
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith(f"usage: lenspipe {command}")
    assert lines[-1].startswith(f"lenspipe {command}: error: ")
    for text in expected:
        assert text in lines[-1], (text, lines[-1])


def _console_script():
    """The installed ``lenspipe`` entry point (beside this interpreter, else on PATH)."""
    beside = Path(sys.executable).with_name("lenspipe")
    path = str(beside) if beside.is_file() else shutil.which("lenspipe")
    assert path, "the lenspipe console script is not installed: pip install -e ."
    return path


# --------------------------------------------------------------------------- inputs
@pytest.fixture
def fits_inputs(tmp_path):
    """Data, noise and PSF FITS of an 11x11 image, and a not-FITS text file."""
    rng = np.random.default_rng(4)
    files = {
        "data": write_fits(tmp_path / "data.fits", rng.normal(1.0, 0.1, size=(11, 11))),
        "noise": write_fits(tmp_path / "noise.fits", np.full((11, 11), 0.1)),
        "psf": write_fits(tmp_path / "psf.fits", gaussian_psf(3, 0.8)),
        "not_fits": tmp_path / "notes.txt",
    }
    files["not_fits"].write_text("not a FITS file\n")
    return files


def prepare_args(files, out, **overrides):
    """``lenspipe prepare`` arguments for ``files``; ``overrides`` replace or add options."""
    options = {"--name": "lens_a", "--data": files["data"], "--noise": files["noise"],
               "--psf": files["psf"], "--pixel-scale": 0.1, "--mask-radius": 0.3,
               "--redshift-lens": 0.5, "--redshift-source": 1.0, "--out": out, **overrides}
    return ["prepare", *[item for pair in options.items() for item in pair]]


@pytest.fixture(scope="module")
def results_folder(tmp_path_factory):
    """Two synthetic result files under ``results/<tag>/<stage>/result.h5``."""
    folder = tmp_path_factory.mktemp("cli") / "results"
    write(folder, make_result(unique_tag="lens_1", einstein_radius=0.9, seed=1))
    write(folder, make_result(unique_tag="lens_2", einstein_radius=1.4, seed=2, data_seed=2))
    return folder


@pytest.fixture(scope="module")
def result_file(results_folder):
    return results_folder / "lens_1" / "mass_total" / "result.h5"


@pytest.fixture(scope="module")
def database(results_folder, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli_db") / "lenspipe.sqlite"
    report = ingest(path, [results_folder])
    assert report.ok and len(report.added) == 2
    return path


# --------------------------------------------------------------------- top level
def test_lenspipe_help_lists_every_command_in_order(capsys):
    code, out, err = run(capsys, "--help")
    assert code == 0 and err == ""
    assert out.startswith("usage: lenspipe [-h] [--version] COMMAND ...")
    listed = re.findall(r"^    (\w+)\s{2,}\S", out, flags=re.M)
    assert listed == ["simulate", "prepare", "fit", "show", "ingest", "query", "status"]


def test_lenspipe_without_a_command_prints_the_help_and_succeeds(capsys):
    code, out, _ = run(capsys)
    assert code == 0
    assert out == build_parser().format_help()


def test_lenspipe_version_is_the_installed_distributions(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out == f"lenspipe {version('lenspipe')}\n"
    assert "unknown" not in out


def test_an_unknown_command_is_a_usage_error(capsys):
    code, out, err = run(capsys, "simulat")
    assert code == 2 and out == ""
    assert err.splitlines()[-1].startswith("lenspipe: error: argument COMMAND: invalid choice: 'simulat'")


# ------------------------------------------------------------------------- --help
#: Every option of each command (a renamed or dropped option fails here).
OPTIONS = {
    "simulate": ["--spec", "--seed", "--out", "--truth", "--preview"],
    "prepare": ["--name", "--data", "--noise", "--psf", "--hdu", "--pixel-scale", "--noise-kind", "--mask-radius",
                "--mask-file", "--redshift-lens", "--redshift-source", "--centre", "--cutout",
                "--subtract-sky", "--positions", "--positions-threshold", "--info", "--out", "--preview"],
    "show": ["result", "--fit-plot", "--source-plot", "--corner-plot", "--corner-select", "--summary", "--truth"],
    "ingest": ["RESULTS_DIR", "--database", "--pattern", "--jobs", "--progress"],
    "query": ["DATABASE", "EXPRESSION", "--columns", "--format", "--order-by", "--descending", "--limit",
              "--all"],
    "status": ["RESULTS_DIR"],
}

#: Every option with a default a user needs to know (not None, False, "" or []), as --help
#: should print it.
DEFAULTS = {
    ("simulate", "--seed"): "1",
    ("prepare", "--hdu"): "0",
    ("prepare", "--noise-kind"): "noise",
    ("prepare", "--centre"): "0,0",
    ("prepare", "--cutout"): "0",
    ("prepare", "--positions-threshold"): "0.0",
    ("ingest", "--database"): "results/lenspipe.sqlite",
    ("ingest", "--pattern"): "result.h5",
    ("ingest", "--jobs"): "2",
    ("query", "--columns"): DEFAULT_COLUMNS,
    ("query", "--format"): "table",
}


def _subparser(command):
    parser = build_parser()
    return parser._subparsers._group_actions[0].choices[command]


def _help_blocks(text):
    """{option string: its help text with whitespace collapsed} of an argparse help page."""
    blocks, current = {}, None
    for line in text.splitlines():
        match = re.match(r"^  (\S.*)$", line)
        if match and not line.startswith("   "):
            current = match.group(1)
            blocks[current] = current
        elif current and line.startswith("   "):
            blocks[current] += " " + line.strip()
        else:
            current = None
    out = {}
    for head, block in blocks.items():
        for option in re.findall(r"(?:^|, )(-[-\w]+|[A-Za-z_]+)", head.split("  ")[0]):
            out[option] = " ".join(block.split())
    return out


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_exits_zero_and_lists_every_option(capsys, command):
    code, out, err = run(capsys, command, "--help")
    assert code == 0 and err == ""
    assert out.startswith(f"usage: lenspipe {command} ")
    blocks = _help_blocks(out)
    missing = [option for option in OPTIONS[command] if option not in blocks]
    assert missing == []
    documented = {option for action in _subparser(command)._actions
                  for option in (action.option_strings or [action.metavar or action.dest])}
    assert documented - {"-h", "--help"} == set(OPTIONS[command])


def test_the_defaults_table_covers_every_option_with_a_default():
    found = set()
    for command in COMMANDS:
        for action in _subparser(command)._actions:
            default = action.default
            # flags (--help, --subtract-sky, --all: nargs 0) have no value to document
            if action.option_strings and action.nargs != 0 and default not in (None, "", []):
                found.add((command, action.option_strings[0]))
                assert str(default) == DEFAULTS.get((command, action.option_strings[0])), action
    assert found == set(DEFAULTS)


@pytest.mark.parametrize("command, option", list(DEFAULTS))
def test_command_help_prints_each_default(capsys, command, option):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    block = _help_blocks(out)[option]
    assert f"(default: {DEFAULTS[(command, option)]})" in block, block


# ----------------------------------------------------------------------- simulate
def test_simulate_writes_a_dataset(capsys, tmp_path):
    out = tmp_path / "sim.fits"
    code, stdout, err = run(capsys, "simulate", "--spec", f"{{{SIM}, {TRUTH}}}", "--out", out)
    assert (code, err) == (0, "")
    assert stdout == f"{out}: simulated 12x12 pixels, 80 fitted\n"
    assert out.is_file()


def test_simulate_a_missing_spec_file(capsys, tmp_path):
    out = tmp_path / "sim.fits"
    spec = tmp_path / "missing.yaml"
    assert_user_error(run(capsys, "simulate", "--spec", spec, "--out", out), "simulate",
                      f"{str(spec)!r} is neither inline JSON/YAML nor an existing file")
    assert not out.exists()


def test_simulate_a_spec_that_is_not_a_mapping(capsys, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("- 1\n- 2\n")
    assert_user_error(run(capsys, "simulate", "--spec", spec, "--out", tmp_path / "sim.fits"),
                      "simulate", "--spec must be a mapping, got list")


def test_simulate_an_unknown_class_in_the_truth_names_the_key(capsys, tmp_path):
    spec = f"{{{SIM}, truth: {{lens: {{mass: {{class: Isothermel, einstein_radius: 1.0}}}}}}}}"
    assert_user_error(run(capsys, "simulate", "--spec", spec, "--out", tmp_path / "sim.fits"), "simulate",
                      "galaxies.lens.mass.class: Unknown model class 'Isothermel'")


def test_simulate_a_truth_with_free_parameters(capsys, tmp_path):
    spec = f"{{{SIM}, truth: {{lens: {{mass: Isothermal}}}}}}"
    assert_user_error(run(capsys, "simulate", "--spec", spec, "--out", tmp_path / "sim.fits"), "simulate",
                      "a simulation truth must fix every parameter", "galaxies.lens.mass.einstein_radius")


def test_simulate_an_even_psf(capsys, tmp_path):
    spec = f"{{{SIM.replace('psf_shape: [3, 3]', 'psf_shape: [4, 4]')}, {TRUTH}}}"
    assert_user_error(run(capsys, "simulate", "--spec", spec, "--out", tmp_path / "sim.fits"), "simulate",
                      "the PSF has shape (4, 4); both dimensions must be odd")


def test_simulate_invalid_yaml_is_a_named_error(capsys, tmp_path):
    code, out, err = run(capsys, "simulate", "--spec", "{shape: [12, 12", "--out", tmp_path / "sim.fits")
    assert (code, out) == (2, "") and "Traceback" not in err
    assert err.startswith("lenspipe simulate: error: --spec is not valid YAML/JSON: ")


def test_simulate_invalid_yaml_is_one_line(capsys, tmp_path):
    assert_user_error(run(capsys, "simulate", "--spec", "{shape: [12, 12", "--out", tmp_path / "sim.fits"),
                      "simulate", "--spec is not valid YAML/JSON")


def test_simulate_without_out_is_a_usage_error(capsys):
    assert_usage_error(run(capsys, "simulate", "--spec", "{}"), "simulate",
                       "the following arguments are required: --out")


def test_simulate_a_spec_without_truth(capsys, tmp_path):
    assert_user_error(run(capsys, "simulate", "--spec", f"{{{SIM}}}", "--out", tmp_path / "sim.fits"),
                      "simulate", "truth")


def test_simulate_a_spec_without_mask_radius(capsys, tmp_path):
    spec = f"{{{SIM.replace(', mask_radius: 0.5', '')}, {TRUTH}}}"
    assert_user_error(run(capsys, "simulate", "--spec", spec, "--out", tmp_path / "sim.fits"),
                      "simulate", "mask_radius")


def test_simulate_a_truth_that_is_not_a_mapping(capsys, tmp_path):
    assert_user_error(run(capsys, "simulate", "--spec", f"{{{SIM}, truth: [lens]}}", "--out",
                          tmp_path / "sim.fits"), "simulate", "truth")


def test_simulate_a_pixel_scale_that_is_not_a_number(capsys, tmp_path):
    spec = f"{{{SIM.replace('pixel_scale: 0.1', 'pixel_scale: fine')}, {TRUTH}}}"
    assert_user_error(run(capsys, "simulate", "--spec", spec, "--out", tmp_path / "sim.fits"),
                      "simulate", "pixel_scale")


def test_simulate_a_shape_of_one_number(capsys, tmp_path):
    spec = f"{{{SIM.replace('shape: [12, 12]', 'shape: [12]')}, {TRUTH}}}"
    assert_user_error(run(capsys, "simulate", "--spec", spec, "--out", tmp_path / "sim.fits"),
                      "simulate", "shape")


def test_simulate_out_is_a_folder(capsys, tmp_path):
    assert_user_error(run(capsys, "simulate", "--spec", f"{{{SIM}, {TRUTH}}}", "--out", tmp_path),
                      "simulate", str(tmp_path))


# ------------------------------------------------------------------------ prepare
def test_prepare_writes_a_dataset(capsys, tmp_path, fits_inputs):
    out = tmp_path / "dataset.fits"
    code, stdout, err = run(capsys, *prepare_args(fits_inputs, out))
    assert (code, err) == (0, "")
    assert stdout == f"{out}: 11x11 pixels, 29 fitted\n"  # pixels within 0.3": 29 of 121
    assert out.is_file()


def test_prepare_a_missing_data_file(capsys, tmp_path, fits_inputs):
    out = tmp_path / "dataset.fits"
    missing = tmp_path / "missing.fits"
    assert_user_error(run(capsys, *prepare_args(fits_inputs, out, **{"--data": missing})), "prepare",
                      f"data file not found: {str(missing)!r}")
    assert not out.exists()


def test_prepare_a_data_file_that_is_not_fits(capsys, tmp_path, fits_inputs):
    line = assert_user_error(
        run(capsys, *prepare_args(fits_inputs, tmp_path / "d.fits", **{"--data": fits_inputs["not_fits"]})),
        "prepare", f"cannot read data file {str(fits_inputs['not_fits'])!r}")
    assert "not FITS" in line


def test_prepare_an_even_psf(capsys, tmp_path, fits_inputs):
    psf = write_fits(tmp_path / "even.fits", np.full((4, 4), 1 / 16))
    assert_user_error(run(capsys, *prepare_args(fits_inputs, tmp_path / "d.fits", **{"--psf": psf})),
                      "prepare", "the PSF has shape (4, 4); both dimensions must be odd")


def test_prepare_a_noise_map_of_another_shape(capsys, tmp_path, fits_inputs):
    noise = write_fits(tmp_path / "noise15.fits", np.ones((15, 15)))
    assert_user_error(run(capsys, *prepare_args(fits_inputs, tmp_path / "d.fits", **{"--noise": noise})),
                      "prepare", "the noise map has shape (15, 15) but the data has shape (11, 11)")


def test_prepare_a_mask_file_of_another_shape(capsys, tmp_path, fits_inputs):
    mask = write_fits(tmp_path / "mask.fits", np.zeros((5, 5)))
    assert_user_error(run(capsys, *prepare_args(fits_inputs, tmp_path / "d.fits", **{"--mask-file": mask})),
                      "prepare", f"mask file {str(mask)!r} has shape (5, 5) but the prepared image is (11, 11)")


@pytest.mark.parametrize("option, value, expected", [
    ("--centre", "1", "--centre '1' must be 'y,x' in arcsec"),
    ("--info", "survey", "--info 'survey' must be KEY=VALUE"),
    ("--positions", "0.5,0.1;a,b", "position 'a,b' must be 'y,x' in arcsec"),
])
def test_prepare_a_malformed_option(capsys, tmp_path, fits_inputs, option, value, expected):
    assert_user_error(run(capsys, *prepare_args(fits_inputs, tmp_path / "d.fits", **{option: value})),
                      "prepare", expected)


def test_prepare_an_invalid_noise_kind_is_a_usage_error(capsys, tmp_path, fits_inputs):
    assert_usage_error(run(capsys, *prepare_args(fits_inputs, tmp_path / "d.fits", **{"--noise-kind": "rms"})),
                       "prepare", "argument --noise-kind: invalid choice: 'rms'")


def test_prepare_a_centre_that_is_not_finite(capsys, tmp_path, fits_inputs):
    assert_user_error(run(capsys, *prepare_args(fits_inputs, tmp_path / "d.fits", **{"--centre": "nan,0"})),
                      "prepare", "--centre")


def test_prepare_out_is_a_folder(capsys, tmp_path, fits_inputs):
    assert_user_error(run(capsys, *prepare_args(fits_inputs, tmp_path)), "prepare", str(tmp_path))


# --------------------------------------------------------------------------- show
def test_show_prints_the_summary_and_writes_it(capsys, tmp_path, result_file):
    summary = tmp_path / "summary.txt"
    code, out, err = run(capsys, "show", result_file, "--summary", summary)
    assert (code, err) == (0, "")
    assert out.startswith("lenspipe result ") and "  unique_tag              lens_1\n" in out
    assert re.search(r"^  galaxies.lens.mass.einstein_radius +0.9 ", out, flags=re.M)
    assert out == summary.read_text() + "\n"


def test_show_a_missing_result_file(capsys, tmp_path):
    missing = tmp_path / "result.h5"
    assert_user_error(run(capsys, "show", missing), "show",
                      f"{missing}: cannot open as HDF5 (missing, truncated or corrupt)", "No such file")


def test_show_a_fits_file(capsys, tmp_path, fits_inputs):
    assert_user_error(run(capsys, "show", fits_inputs["data"]), "show",
                      f"{fits_inputs['data']}: cannot open as HDF5", "file signature not found")


def test_show_a_truncated_result_file(capsys, tmp_path, result_file):
    truncated = tmp_path / "result.h5"
    data = result_file.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    assert_user_error(run(capsys, "show", truncated), "show", f"{truncated}: cannot open as HDF5", "truncated")


def test_show_an_hdf5_file_that_is_not_a_result(capsys, tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as file:
        file["x"] = np.zeros(3)
    assert_user_error(run(capsys, "show", path), "show",
                      f"{path}: not a lenspipe result file (no format='lenspipe-result' attribute)")


def test_show_a_truth_file_that_is_not_json(capsys, tmp_path, result_file):
    truth = tmp_path / "truth.json"
    truth.write_text("{not json")
    assert_user_error(run(capsys, "show", result_file, "--corner-plot", tmp_path / "c.png", "--truth", truth),
                      "show", str(truth))


def test_show_a_truth_file_that_is_not_a_mapping(capsys, tmp_path, result_file):
    truth = tmp_path / "truth.json"
    truth.write_text("[1, 2]")
    assert_user_error(run(capsys, "show", result_file, "--corner-plot", tmp_path / "c.png", "--truth", truth),
                      "show", str(truth))


def test_show_a_missing_truth_file(capsys, tmp_path, result_file):
    truth = tmp_path / "truht.json"
    assert_user_error(run(capsys, "show", result_file, "--corner-plot", tmp_path / "c.png", "--truth", truth),
                      "show", str(truth))


# ------------------------------------------------------------------------- ingest
def test_ingest_adds_the_results_then_leaves_them_alone(capsys, tmp_path, results_folder):
    database = tmp_path / "db.sqlite"
    code, out, err = run(capsys, "ingest", results_folder, "--database", database)
    assert (code, err) == (0, "")
    assert out == f"{database}: 2 added, 0 replaced, 0 unchanged, 0 skipped\n"
    code, out, _ = run(capsys, "ingest", results_folder, "--database", database)
    assert code == 0 and out == f"{database}: 0 added, 0 replaced, 2 unchanged, 0 skipped\n"


def test_ingest_skips_a_corrupt_result_file_with_exit_code_one(capsys, tmp_path, results_folder, result_file):
    corrupt = tmp_path / "result.h5"
    corrupt.write_bytes(result_file.read_bytes()[:1000])
    database = tmp_path / "db.sqlite"
    code, out, err = run(capsys, "ingest", results_folder, corrupt, "--database", database)
    assert code == 1 and "Traceback" not in err
    assert err.startswith(f"lenspipe ingest: skipped {corrupt}: {corrupt}: cannot open as HDF5")
    assert len(err.splitlines()) == 1
    assert out == f"{database}: 2 added, 0 replaced, 0 unchanged, 1 skipped\n"


def test_ingest_into_a_file_that_is_not_a_database(capsys, tmp_path, results_folder, fits_inputs):
    before = fits_inputs["not_fits"].read_bytes()
    assert_user_error(run(capsys, "ingest", results_folder, "--database", fits_inputs["not_fits"]), "ingest",
                      f"{fits_inputs['not_fits']}: cannot open as a lenspipe database: file is not a database")
    assert fits_inputs["not_fits"].read_bytes() == before


def test_ingest_into_a_folder(capsys, tmp_path, results_folder):
    assert_user_error(run(capsys, "ingest", results_folder, "--database", tmp_path), "ingest",
                      f"{tmp_path}: cannot open as a lenspipe database")


def test_ingest_without_results_is_a_usage_error(capsys, tmp_path):
    assert_usage_error(run(capsys, "ingest", "--database", tmp_path / "db.sqlite"), "ingest",
                       "the following arguments are required: RESULTS_DIR")


# -------------------------------------------------------------------------- query
def test_query_selects_by_a_parameter(capsys, database):
    code, out, err = run(capsys, "query", database, "galaxies.lens.mass.einstein_radius > 1.0",
                         "--columns", "unique_tag,galaxies.lens.mass.einstein_radius", "--format", "csv")
    assert (code, err) == (0, "")
    assert out.splitlines() == ["unique_tag,galaxies.lens.mass.einstein_radius", "lens_2,1.4"]


def test_query_a_missing_database(capsys, tmp_path):
    missing = tmp_path / "lenspipe.sqlite"
    assert_user_error(run(capsys, "query", missing), "query",
                      f"{missing}: no such database; create it with `lenspipe ingest`.")
    assert not missing.exists()


def test_query_a_file_that_is_not_a_database(capsys, fits_inputs):
    assert_user_error(run(capsys, "query", fits_inputs["data"]), "query",
                      "cannot open as a lenspipe database: file is not a database")


def test_query_an_invalid_expression_points_at_the_problem(capsys, database):
    """A malformed query: one error line, then the expression and a caret under the position."""
    expression = "galaxies.lens.mass.einstein_radius >"
    code, out, err = run(capsys, "query", database, expression)
    assert (code, out) == (2, "") and "Traceback" not in err
    first, shown, caret = err.splitlines()
    assert first == ("lenspipe query: error: expected a value (number, quoted string or class name), "
                     f"found the end at position {len(expression)}:")
    assert shown == f"  {expression}"
    assert caret == " " * (2 + len(expression)) + "^"


def test_query_a_comparison_of_a_text_field_with_a_number(capsys, database):
    code, _, err = run(capsys, "query", database, "unique_tag == 1")
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[0].startswith(
        "lenspipe query: error: unique_tag == 1.0: unique_tag is a text; compare it with a string.")


def test_query_an_invalid_format_is_a_usage_error(capsys, database):
    assert_usage_error(run(capsys, "query", database, "--format", "xml"), "query",
                       "argument --format: invalid choice: 'xml'")


def test_query_empty_columns_names_the_option(capsys, database):
    assert_user_error(run(capsys, "query", database, "--columns", ","), "query", "--columns")


# ------------------------------------------------------------ the console script
def test_the_console_script_exits_2_with_one_error_line(tmp_path):
    missing = tmp_path / "lenspipe.sqlite"
    process = subprocess.run([_console_script(), "query", str(missing)], capture_output=True, text=True,
                             cwd=tmp_path, timeout=120)
    assert process.returncode == 2
    assert process.stdout == ""
    assert process.stderr == (f"lenspipe query: error: {missing}: no such database; create it with "
                              "`lenspipe ingest`.\n")


def test_the_console_script_reports_a_spec_without_truth_as_an_error(tmp_path):
    process = subprocess.run([_console_script(), "simulate", "--spec", f"{{{SIM}}}", "--out", "sim.fits"],
                             capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert "Traceback" not in process.stderr
    assert process.returncode == 2
    assert process.stderr.startswith("lenspipe simulate: error: ")


# ------------------------------------------------- outputs never overwrite inputs
@pytest.mark.parametrize("option", ["--out", "--preview"])
def test_prepare_an_output_equal_to_the_data_is_refused_and_the_data_kept(capsys, tmp_path, fits_inputs, option):
    before = fits_inputs["data"].read_bytes()
    assert_user_error(run(capsys, *prepare_args(fits_inputs, tmp_path / "d.fits", **{option: fits_inputs["data"]})),
                      "prepare", f"{option} {str(fits_inputs['data'])!r} is the same file as --data")
    assert fits_inputs["data"].read_bytes() == before


def test_simulate_truth_equal_to_out_is_refused(capsys, tmp_path):
    out = tmp_path / "sim.fits"
    assert_user_error(run(capsys, "simulate", "--spec", f"{{{SIM}, {TRUTH}}}", "--out", out, "--truth", out),
                      "simulate", f"--out and --truth are the same file {str(out)!r}")
    assert not out.exists()


@pytest.mark.parametrize("overrides, expected", [
    ({"--mask-radius": "nan"}, "--mask-radius must be a finite number, got nan"),
    ({"--pixel-scale": "-0.1"}, "--pixel-scale must be above 0"),
    ({"--redshift-lens": "nan"}, "--redshift-lens must be a finite number"),
    ({"--redshift-lens": "1.2", "--redshift-source": "0.5"},
     "--redshift-source 0.5 must be above --redshift-lens 1.2"),
])
def test_prepare_numbers_out_of_range_are_named(capsys, tmp_path, fits_inputs, overrides, expected):
    out = tmp_path / "d.fits"
    assert_user_error(run(capsys, *prepare_args(fits_inputs, out, **overrides)), "prepare", expected)
    assert not out.exists()


def test_simulate_inverted_redshifts_are_named(capsys, tmp_path):
    spec = f"{{{SIM}, redshift_lens: 1.5, redshift_source: 0.5, {TRUTH}}}"
    assert_user_error(run(capsys, "simulate", "--spec", spec, "--out", tmp_path / "s.fits"), "simulate",
                      "redshift_source 0.5 must be above redshift_lens 1.5")


# ------------------------------------------------------------ multi-extension FITS
@pytest.fixture
def mef_inputs(tmp_path, fits_inputs):
    """HST-style files: an empty primary HDU, the image in an extension named SCI."""
    from astropy.io import fits

    files = dict(fits_inputs)
    for key in ("data", "noise", "psf"):
        image = fits.getdata(fits_inputs[key])
        path = tmp_path / f"mef_{key}.fits"
        fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(image, name="SCI")]).writeto(path)
        files[key] = path
    return files


def test_prepare_a_multi_extension_file_names_the_way_to_choose_the_extension(capsys, tmp_path, mef_inputs):
    line = assert_user_error(run(capsys, *prepare_args(mef_inputs, tmp_path / "d.fits")), "prepare",
                             "holds no image data", "1: SCI ImageHDU")
    assert "FILE.fits[EXTNAME]" in line and "--hdu" in line


@pytest.mark.parametrize("how", ["--hdu", "suffix", "index"])
def test_prepare_reads_the_chosen_extension(capsys, tmp_path, mef_inputs, fits_inputs, how):
    if how == "--hdu":
        options = {"--hdu": "SCI"}
    else:
        ext = "SCI" if how == "suffix" else "1"
        options = {f"--{key}": f"{mef_inputs[key]}[{ext}]" for key in ("data", "noise", "psf")}
    out = tmp_path / "d.fits"
    code, stdout, err = run(capsys, *prepare_args(mef_inputs, out, **options))
    assert (code, err) == (0, ""), err
    reference = tmp_path / "reference.fits"
    run(capsys, *prepare_args(fits_inputs, reference))
    from lenspipe.data import read_dataset

    np.testing.assert_array_equal(read_dataset(out)[0].data, read_dataset(reference)[0].data)


def test_show_refuses_a_corner_selection_that_matches_nothing_before_writing(tmp_path, capsys):
    """--corner-select naming no parameter: a named error, exit code 2, and no figure written."""
    from lenspipe.cli import main
    from lenspipe.results.result_file import write_result
    from results.synthetic import make_result

    path = write_result(tmp_path / "result.h5", make_result(n=50), fsync=False)
    code = main(["show", str(path), "--fit-plot", str(tmp_path / "fit.png"), "--corner-plot",
                 str(tmp_path / "corner.png"), "--corner-select", "galaxies.sauce"])
    assert code == 2
    assert "no parameter path starts with galaxies.sauce" in capsys.readouterr().err
    assert not (tmp_path / "fit.png").exists() and not (tmp_path / "corner.png").exists()
