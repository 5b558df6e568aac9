"""The result file: exact round trip, identifiers, atomic writes, named errors."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lenspipe.errors import ResultFileError
from lenspipe.results import (
    build_result,
    fit_from_result,
    read_result,
    write_result,
)
from lenspipe.results.codec import decode, encode, read_encoded
from lenspipe.results.result_file import open_result
from lenspipe.results.summary import components_from_model
from lenspipe.search.samples import Samples, weighted_quantile

from .synthetic import dataset, lens_model, make_result, real_result


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
        a.view(np.uint64), b.view(np.uint64))


def test_round_trip_is_exact(tmp_path):
    result = make_result(info={"survey": "SLACS", "z": 0.23, "nested": {"a": [1, 2]}},
                         parent_identifier="parent123", path_prefix="slacs/run1")
    path = write_result(tmp_path / "result.h5", result)
    back = read_result(path)
    for field in dataclasses.fields(result):
        mine, theirs = getattr(result, field.name), getattr(back, field.name)
        if isinstance(mine, np.ndarray):
            assert _same_bits(mine, theirs), field.name
        elif field.name == "dataset":
            for key, array in mine.arrays().items():
                assert np.array_equal(array, theirs.arrays()[key]) and array.dtype == \
                    theirs.arrays()[key].dtype, key
            assert mine.pixel_scale == theirs.pixel_scale
        else:
            assert mine == theirs, field.name
    assert back.completed is True and back.seed == 0


def test_standard_hdf5_readers_decode_the_samples(tmp_path):
    result = make_result()
    path = write_result(tmp_path / "result.h5", result)
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "lenspipe-result"
        assert _same_bits(f["samples/parameters"][()], result.parameters)
        with open_result(path) as checked:
            assert _same_bits(decode(read_encoded(checked["samples/parameters"]),
                                     result.parameters.shape), result.parameters)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=40),
                  elements=st.floats(allow_nan=True, allow_infinity=True)))
def test_codec_round_trip_bit_for_bit(array):
    assert _same_bits(decode(encode(array), array.shape), array)


def test_summary_matches_samples():
    result = make_result(n=500, seed=3)
    samples = Samples(lens_model(), result.parameters, result.log_likelihood, result.log_prior,
                      result.weight)
    expected = samples.summary_dict()
    for key in ("max_log_likelihood_instance", "median_pdf_instance", "errors"):
        assert result.summary[key] == expected[key]
    latent = result.parameters[:, 2] ** 2 * 1e11
    median = weighted_quantile(latent, 0.5, result.weight)
    assert result.summary["latent"]["einstein_mass"]["median"] == pytest.approx(median, rel=1e-12)


def test_components_are_walked_from_the_model_dict():
    components = components_from_model(lens_model("LpTestPowerLaw").to_dict())
    assert components == [{"path": "galaxies.lens", "class": "LpTestGalaxy"},
                          {"path": "galaxies.lens.mass", "class": "LpTestPowerLaw"}]


def test_identifier_hashes_model_search_tag_and_dataset():
    base = make_result()
    assert make_result().identifier == base.identifier  # deterministic
    assert make_result(seed=5, data_seed=0).identifier == base.identifier  # samples are not hashed
    different = [
        make_result(mass="LpTestPowerLaw"),
        make_result(unique_tag="lens_2"),
        make_result(data_seed=1),
        make_result(search={"nwalkers": 40, "max_steps": 100}),
        make_result(name="light_lp"),
    ]
    assert len({base.identifier, *(r.identifier for r in different)}) == 6
    # diagnostics describe the run, not the fit
    same = make_result(search={"nwalkers": 20, "max_steps": 100, "diagnostics": {"steps": 7}})
    assert same.identifier == base.identifier
    # so do the start's record and the discarded counts (wall times differ between runs)
    record = {"mode": "optimise", "evaluations": 10, "wall_time_s": 1.234}
    same = make_result(search={"nwalkers": 20, "max_steps": 100, "initialisation": record,
                               "discarded": {"non-finite": 2}})
    assert same.identifier == base.identifier
    # but how the walkers start is part of the question
    asked = make_result(search={"nwalkers": 20, "max_steps": 100, "initialise": "optimise"})
    assert asked.identifier != base.identifier


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = write_result(tmp_path / "result.h5", make_result())
    before = path.read_bytes()
    broken = dataclasses.replace(make_result(), info={"bad": object()})
    with pytest.raises(TypeError):
        write_result(path, broken)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["result.h5"]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "missing", "no_format", "no_summary",
                                    "no_samples_group", "newer"])
def test_bad_files_raise_result_file_error(tmp_path, damage):
    path = write_result(tmp_path / "result.h5", make_result())
    if damage == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not an hdf5 file at all" * 10)
    elif damage == "missing":
        path.unlink()
    else:
        with h5py.File(path, "a") as f:
            if damage == "no_format":
                del f.attrs["format"]
            elif damage == "no_summary":
                del f["summary"]
            elif damage == "no_samples_group":
                del f["samples"]
            else:
                f.attrs["format_version"] = 99
    with pytest.raises(ResultFileError):
        read_result(path)


def test_corrupt_sample_chunk_is_detected(tmp_path):
    path = write_result(tmp_path / "result.h5", make_result(n=2000))
    with h5py.File(path, "r") as f:
        offset = f["samples/parameters"].id.get_chunk_info(0).byte_offset
    data = bytearray(path.read_bytes())
    for i in range(offset + 200, offset + 260):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ResultFileError, match="CRC-32"), open_result(path) as f:
        read_encoded(f["samples/parameters"])
    with pytest.raises(ResultFileError):
        read_result(path)


def test_mismatched_arrays_are_refused():
    with pytest.raises(ResultFileError):
        build_result(unique_tag="x", name="y", model=lens_model(), search={},
                     parameters=np.zeros((5, 3)), log_likelihood=np.zeros(4),
                     log_prior=np.zeros(5), dataset=dataset())


def test_result_rebuilds_its_maximum_likelihood_fit(tmp_path):
    result = read_result(write_result(tmp_path / "result.h5", real_result()))
    fit = result.fit
    direct = fit_from_result(model=result.model, dataset=result.dataset, search=result.search,
                             max_log_likelihood_vector=result.max_log_likelihood_vector)
    assert np.isfinite(fit.log_likelihood) and fit.log_likelihood == direct.log_likelihood
    with pytest.raises(ResultFileError, match="without its dataset"):
        read_result(tmp_path / "result.h5", dataset=False).fit
