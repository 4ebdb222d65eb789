"""Out-of-process model families: the worker protocol, driven through a tiny fake worker."""

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

from baselines.interface import ModelUnavailable
from baselines.worker import WorkerError, WorkerForceField
from baselines.worker_protocol import ProtocolError, pack, read_message, write_message
from benchmarks.testing import si_cell

FAKE = Path(__file__).with_name("fake_worker.py")


def _worker(mode="ok"):
    return WorkerForceField(sys.executable, FAKE, [mode], spec=f"fake:{mode}")


def test_frames_round_trip_through_the_wire():
    buf = io.BytesIO()
    msg = {"op": "x", "a": np.arange(6.0).reshape(2, 3), "n": np.int64(4)}
    write_message(buf, msg)
    write_message(buf, {})
    buf.seek(0)
    got = read_message(buf)
    assert str(got["op"][()]) == "x" and got["n"] == 4
    np.testing.assert_array_equal(got["a"], msg["a"])
    assert read_message(buf) == {} and read_message(buf) is None
    with pytest.raises(ProtocolError, match="stream ended"):
        read_message(io.BytesIO(pack(msg)[:-5]))


def test_fake_worker_answers_info_and_predictions_in_batches():
    ff = _worker()
    try:
        assert (
            ff.info.name == "fake" and ff.info.spec == "fake:ok" and ff.info.extra["mode"] == "ok"
        )
        frames = [si_cell(1), si_cell(2), Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.7]])]
        for batch in (None, 1, 2):
            preds = ff.predict(frames, batch_size=batch)
            assert [p.energy for p in preds] == [-8.0, -64.0, -2.0]
            assert [p.forces.shape for p in preds] == [(8, 3), (64, 3), (2, 3)]
        calc_atoms = si_cell(1)
        calc_atoms.calc = ff.calculator()
        assert calc_atoms.get_potential_energy() == -8.0
        with pytest.raises(ValueError, match="fake:ok: KeyError: 'Og: element not in this model'"):
            ff.predict([Atoms("Og", cell=[5, 5, 5], pbc=True)])
        assert ff.predict([si_cell(1)])[0].energy == -8.0  # still serving after an error
    finally:
        ff.close()
    assert ff._proc.poll() == 0


@pytest.mark.parametrize("mode", ["die", "garble"])
def test_a_dying_or_garbling_worker_is_one_clear_error(mode):
    ff = _worker(mode)
    with pytest.raises(WorkerError, match=r"worker fake_worker.py exited \(code \d+\)") as err:
        ff.predict([si_cell(1)])
    assert "\n" not in str(err.value)


def test_a_worker_that_cannot_start_is_unavailable(tmp_path):
    with pytest.raises(ModelUnavailable, match="cannot start worker"):
        WorkerForceField(tmp_path / "no-python", FAKE, spec="fake")
    (tmp_path / "bad.py").write_text("raise SystemExit('no model here')\n")
    with pytest.raises(ModelUnavailable, match=r"fake: worker bad.py exited \(code 1\)"):
        WorkerForceField(sys.executable, tmp_path / "bad.py", spec="fake")
