"""The ADAPT authors' native .pt files: read, write, round trip, safe loading."""

import numpy as np
import pytest
import torch

from adapt.energy_models import OversizeStructureError
from adapt.native_format import (
    WEIGHT_KEY,
    read_native_energies,
    read_native_forces,
    recover_symbols,
    write_native_energies,
    write_native_forces,
)
from adapt.testing import torch_threads
from adapt.tokens import UnknownElementError, default_table
from benchmarks.data.dataset import labelled
from benchmarks.testing import si_cell


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with torch_threads(1):
        yield


POS_ATOL = 1e-4  # Å: positions go through float32


def _frames(k=3, dopants=("C", "Ge", "Fe")):
    rng = np.random.default_rng(0)
    out = []
    for i, d in enumerate(dopants):
        a = si_cell(k, dopant=d)
        a.positions += rng.normal(scale=0.05, size=a.positions.shape)
        a.wrap()
        out.append(labelled(a, energy=-5.4 * len(a) - i, forces=rng.normal(size=(len(a), 3))))
    return out


def test_force_file_round_trip_with_inferred_cell(tmp_path):
    frames = _frames()
    weights = [np.linspace(1, 2, len(a)) for a in frames]
    path = write_native_forces(frames, tmp_path / "forces.pt", weights=weights)
    raw = torch.load(path, weights_only=True)
    assert (
        set(raw) == {"X", "Y"} and raw["X"][0].shape == (216, 13) and raw["Y"][0].shape == (216, 3)
    )
    back = read_native_forces(path)
    for a, b, w in zip(frames, back, weights, strict=True):
        assert b.get_chemical_symbols() == a.get_chemical_symbols()
        np.testing.assert_allclose(b.positions, a.positions, atol=POS_ATOL)
        np.testing.assert_allclose(b.get_forces(), a.get_forces(), atol=1e-6)
        np.testing.assert_allclose(b.arrays[WEIGHT_KEY], w, rtol=1e-6)
        np.testing.assert_allclose(b.cell[:], a.cell[:], atol=0.05)  # inferred from d_nn
        assert b.info["cell_inferred"] and b.pbc.all()
    explicit = read_native_forces(path, cell=frames[0].cell[0, 0])
    np.testing.assert_allclose(explicit[0].cell[:], frames[0].cell[:], atol=1e-9)


def test_energy_file_round_trip_with_padding(tmp_path):
    frames = _frames(k=1) + [si_cell(2)]
    frames[-1] = labelled(frames[-1], energy=-300.0, forces=np.zeros((64, 3)))
    path = write_native_energies(frames, tmp_path / "energies.pt", n_max=70)
    raw = torch.load(path, weights_only=True)
    assert raw["X"].shape == (4, 70, 12) and raw["Y"].shape == (4,)
    assert torch.all(raw["X"][0, 8:] == 0)  # zero rows are padding
    back = read_native_energies(path, cell=frames[0].cell[:])
    assert [len(b) for b in back] == [8, 8, 8, 64]
    for a, b in zip(frames[:3], back[:3], strict=True):
        assert b.get_chemical_symbols() == a.get_chemical_symbols()
        np.testing.assert_allclose(b.positions, a.positions, atol=POS_ATOL)
        assert b.get_potential_energy() == pytest.approx(a.get_potential_energy(), abs=1e-4)
    torch.save((raw["X"], raw["Y"]), tmp_path / "tuple.pt")  # the (X, Y) tuple form
    assert len(read_native_energies(tmp_path / "tuple.pt", cell=10.0)) == 4
    with pytest.raises(OversizeStructureError, match="64 atoms > n_max=60"):
        write_native_energies(frames, tmp_path / "small.pt", n_max=60)


def test_elements_recovered_from_the_authors_descriptor_values():
    authors_si = [14, 3, 1.9, 111, 4, 8.1517, 133.6, 1.1, 12.06]
    t = default_table()
    la, ce = t.descriptors("La"), t.descriptors("Ce")  # same (column, row) in pymatgen
    assert recover_symbols(np.array([authors_si, la, ce])) == ["Si", "La", "Ce"]
    with pytest.raises(UnknownElementError, match="column 19"):
        recover_symbols(np.array([[19, 3, 1, 1, 1, 1, 1, 1, 1]]))


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_files_are_loaded_without_unpickling_code(tmp_path):
    torch.save({"X": [_Evil()], "Y": []}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="[Ww]eights only load failed|Unsupported global"):
        read_native_forces(tmp_path / "evil.pt")
