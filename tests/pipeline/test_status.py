"""``lenspipe status``: one line per fit, read from real result files and checkpoints."""

import os
import shutil

import pytest

from lenspipe.cli import main
from lenspipe.pipeline.datasets import simulate_dataset
from lenspipe.pipeline.run import FitRequest, run_fit
from lenspipe.pipeline.status import status_rows
from lenspipe.settings import FitSettings

from test_run_fit import MODEL, SPEC


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """results/tiny/{source_lp: done, light_lp: stopped at its checkpoint, mass_total: just
    started, broken: an unreadable checkpoint}, as the workflow lays them out."""
    root = tmp_path_factory.mktemp("status") / "results"
    simulate_dataset(SPEC, seed=3, out=root / "tiny" / "dataset.fits")
    settings = FitSettings.from_dict({"initialise": "prior",
                                      "search": {"nwalkers": 8, "max_steps": 20, "checkpoint_every": 20}})
    done = root / "tiny" / "source_lp"
    run_fit(FitRequest(dataset=str(root / "tiny" / "dataset.fits"), model_spec=MODEL, settings=settings,
                       out=str(done / "result.h5"), checkpoint=str(done / "checkpoint.h5"),
                       stage="source_lp", unique_tag="tiny", seed=2, threads=1, keep_checkpoint=True))
    os.utime(done / "result.h5")  # written after its checkpoint, as in a real run
    (root / "tiny" / "light_lp").mkdir()
    shutil.copy(done / "checkpoint.h5", root / "tiny" / "light_lp" / "checkpoint.h5")
    (root / "tiny" / "mass_total").mkdir()
    (root / "tiny" / "broken").mkdir()
    (root / "tiny" / "broken" / "checkpoint.h5").write_bytes(b"not hdf5")
    return root


def test_one_row_per_fit_with_its_state(results):
    rows = {row["stage"]: row for row in status_rows(results)}
    assert sorted(rows) == ["broken", "light_lp", "mass_total", "source_lp"]
    done = rows["source_lp"]
    assert (done["lens"], done["state"], done["step"], done["converged"]) == ("tiny", "done", "20", "no")
    assert done["max_tau"] != "-" and done["rhat"] != "-" and done["time"].endswith("s")
    running = rows["light_lp"]
    assert running["state"].startswith("sampling (checkpoint ")
    assert (running["step"], running["time"]) == ("20/20", "<= 0s left")
    assert running["rhat"] == done["rhat"] != "-"  # the checkpoint's last check
    assert rows["mass_total"]["state"] == "started (optimising or no checkpoint yet)"
    assert rows["broken"]["state"].startswith("unreadable: ")


def test_the_command_prints_a_header_and_a_line_per_fit(results, capsys):
    assert main(["status", str(results)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["lens", "stage", "state", "step", "max_tau", "rhat", "time", "converged"]
    assert len(lines) == 5
    assert lines[4].split()[:3] == ["tiny", "source_lp", "done"]


def test_a_missing_results_folder_is_a_named_error(tmp_path, capsys):
    assert main(["status", str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err
