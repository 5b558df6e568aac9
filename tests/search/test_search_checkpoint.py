"""Checkpoints: exact resume after a kill, identity checks, unreadable files."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from lenspipe.errors import CheckpointError
from lenspipe.search import ZeusSearch, read_checkpoint, write_checkpoint
from search_toy import gaussian_log_likelihoods, toy_model

HERE = os.path.dirname(os.path.abspath(__file__))
SETTINGS = dict(nwalkers=8, max_steps=60, seed=21, checkpoint_every=20)
IDENTITY = {"dataset": "d1", "model": "m1", "search": "s1"}


@pytest.fixture(scope="module")
def reference():
    """The uninterrupted run (without any checkpoint file)."""
    return ZeusSearch(**SETTINGS).fit(toy_model(), gaussian_log_likelihoods)


def _assert_same_run(out, reference):
    np.testing.assert_array_equal(out.chain, reference.chain)
    np.testing.assert_array_equal(out.log_likelihood, reference.log_likelihood)
    np.testing.assert_array_equal(out.log_prior, reference.log_prior)
    for key in ("steps", "tau", "rhat", "evaluations", "discarded", "mu", "converged"):
        assert out.diagnostics[key] == reference.diagnostics[key], key


SCRIPT = """
import os, sys, time
sys.path.insert(0, {here!r})
from lenspipe.search import ZeusSearch
from search_toy import gaussian_log_likelihoods, toy_model

path = {path!r}

def stalling(vectors):
    # Once the first checkpoint is on disk, hang mid-segment until killed.
    if os.path.exists(path):
        time.sleep(600)
    return gaussian_log_likelihoods(vectors)

ZeusSearch(**{settings!r}).fit(toy_model(), stalling, checkpoint_path=path,
                                identity={identity!r})
"""


def test_resume_after_sigkill_gives_the_same_chain_bit_for_bit(tmp_path, reference):
    path = str(tmp_path / "search.h5")
    script = tmp_path / "run_search.py"
    script.write_text(textwrap.dedent(SCRIPT.format(
        here=HERE, path=path, settings=SETTINGS, identity=IDENTITY)))
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not os.path.exists(path):
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.05)
        time.sleep(0.2)
        assert process.poll() is None, "the run finished instead of stalling"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    state = read_checkpoint(path)
    assert state.steps == 20 and state.identity == IDENTITY
    out = ZeusSearch(**SETTINGS).fit(toy_model(), gaussian_log_likelihoods,
                                     checkpoint_path=path, identity=IDENTITY)
    assert out.diagnostics["resumed_from_step"] == 20
    _assert_same_run(out, reference)


class _Interrupt(Exception):
    pass


def test_resume_after_a_later_checkpoint_with_disturbed_globals(tmp_path, reference):
    path = tmp_path / "search.h5"
    calls = {"n": 0}

    def interrupting(vectors):
        if os.path.exists(path) and read_checkpoint(path).steps == 40:
            raise _Interrupt
        return gaussian_log_likelihoods(vectors)

    with pytest.raises(_Interrupt):
        ZeusSearch(**SETTINGS).fit(toy_model(), interrupting, checkpoint_path=path,
                                   identity=IDENTITY)
    np.random.seed(999)  # the resumed run must not depend on the caller's generators
    import random
    random.seed(999)
    out = ZeusSearch(**SETTINGS).fit(toy_model(), gaussian_log_likelihoods,
                                     checkpoint_path=path, identity=IDENTITY)
    assert out.diagnostics["resumed_from_step"] == 40
    _assert_same_run(out, reference)

    # Running again from the finished checkpoint evaluates nothing and gives the same.
    def counting(vectors):
        calls["n"] += 1
        return gaussian_log_likelihoods(vectors)

    again = ZeusSearch(**SETTINGS).fit(toy_model(), counting, checkpoint_path=path,
                                       identity=IDENTITY)
    assert calls["n"] == 0
    _assert_same_run(again, reference)


def test_checkpoint_of_another_fit_is_refused(tmp_path):
    path = tmp_path / "search.h5"
    settings = dict(SETTINGS, max_steps=20)
    ZeusSearch(**settings).fit(toy_model(), gaussian_log_likelihoods,
                               checkpoint_path=path, identity=IDENTITY)
    other = dict(IDENTITY, model="m2")
    with pytest.raises(CheckpointError, match="model") as error:
        ZeusSearch(**settings).fit(toy_model(), gaussian_log_likelihoods,
                                   checkpoint_path=path, identity=other)
    message = str(error.value)
    assert "model: checkpoint " in message and "dataset" not in message
    assert f"Delete {path} to start this fit afresh" in message
    with pytest.raises(CheckpointError, match="walkers"):
        ZeusSearch(**dict(settings, nwalkers=10)).fit(
            toy_model(), gaussian_log_likelihoods, checkpoint_path=path, identity=IDENTITY)


def test_a_differing_setting_is_named_key_by_key(tmp_path):
    """Identity entries that are dicts of settings are compared setting by setting."""
    path = tmp_path / "search.h5"
    settings = dict(SETTINGS, max_steps=20)
    mine = dict(IDENTITY, settings={"likelihood.over_sampling": "adaptive", "cosmology": "Planck15"})
    ZeusSearch(**settings).fit(toy_model(), gaussian_log_likelihoods, checkpoint_path=path, identity=mine)
    other = dict(IDENTITY, settings={"likelihood.over_sampling": "uniform", "cosmology": "Planck15"})
    with pytest.raises(CheckpointError) as error:
        ZeusSearch(**settings).fit(toy_model(), gaussian_log_likelihoods, checkpoint_path=path, identity=other)
    message = str(error.value)
    assert "setting likelihood.over_sampling: checkpoint 'adaptive', this fit 'uniform'" in message
    assert "cosmology" not in message


def test_unreadable_checkpoint_raises(tmp_path):
    path = tmp_path / "search.h5"
    path.write_bytes(b"not hdf5 at all")
    with pytest.raises(CheckpointError, match="delete it"):
        ZeusSearch(**SETTINGS).fit(toy_model(), gaussian_log_likelihoods,
                                   checkpoint_path=path, identity=IDENTITY)


def test_checkpoint_round_trip(tmp_path):
    path = tmp_path / "search.h5"
    ZeusSearch(**dict(SETTINGS, max_steps=20)).fit(
        toy_model(), gaussian_log_likelihoods, checkpoint_path=path, identity=IDENTITY)
    state = read_checkpoint(path)
    write_checkpoint(tmp_path / "copy.h5", state)
    copy = read_checkpoint(tmp_path / "copy.h5")
    assert not os.path.exists(str(tmp_path / "copy.h5") + ".tmp")
    for name in ("chain", "log_likelihood", "log_prior", "positions", "log_likelihood_now"):
        np.testing.assert_array_equal(getattr(copy, name), getattr(state, name))
    assert copy.py_random_state == state.py_random_state
    np.testing.assert_array_equal(copy.np_random_state[1], state.np_random_state[1])
    assert copy.np_random_state[2:] == state.np_random_state[2:]
    assert (copy.mu, copy.tune, copy.steps, copy.counters) == (
        state.mu, state.tune, state.steps, state.counters)
    np.testing.assert_array_equal(state.positions, state.chain[-1])


def test_notes_given_at_the_start_survive_a_resume(tmp_path, reference):
    path = tmp_path / "search.h5"

    def interrupting(vectors):
        if os.path.exists(path):
            raise _Interrupt
        return gaussian_log_likelihoods(vectors)

    notes = {"initialisation": {"mode": "optimise", "evaluations": 1234}}
    with pytest.raises(_Interrupt):
        ZeusSearch(**SETTINGS).fit(toy_model(), interrupting, checkpoint_path=path,
                                   identity=IDENTITY, notes=notes)
    assert read_checkpoint(path).notes == notes
    out = ZeusSearch(**SETTINGS).fit(toy_model(), gaussian_log_likelihoods,
                                     checkpoint_path=path, identity=IDENTITY,
                                     notes={"initialisation": {"mode": "ignored on resume"}})
    assert out.diagnostics["resumed_from_step"] == 20 and out.notes == notes
    _assert_same_run(out, reference)
