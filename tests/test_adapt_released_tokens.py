"""Token layouts of the `released` variant against the authors' data conventions."""

from pathlib import Path

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols
from ase.io import read, write

from adapt.released_tokens import atomic_number, element_data, table_from_native, z_tokens
from adapt.tokens import default_table, tokenize
from benchmarks.testing import si_cell

SAMPLE = Path(__file__).parent / "references" / "adapt_released_omol_sample.xyz"


def their_x_rows(path):
    """X rows as their extxyz converter (data/xyz_extxyz_converter.py) builds them: pos, then Z
    from the species symbol, then every other numeric per-atom property in Properties order
    (forces left out). Plain text parsing, written from their documented rules."""
    lines = Path(path).read_text().splitlines()
    frames, i = [], 0
    while i < len(lines):
        n = int(lines[i])
        props = lines[i + 1].split("Properties=")[1].split()[0].split(":")
        specs = [(props[j], props[j + 1], int(props[j + 2])) for j in range(0, len(props), 3)]
        rows = []
        for line in lines[i + 2 : i + 2 + n]:
            cols, c, row, sym = line.split(), 0, [], None
            for name, kind, count in specs:
                vals = cols[c : c + count]
                c += count
                if name == "species":
                    sym = vals[0]
                elif name == "pos":
                    row += [float(v) for v in vals] + [float(atomic_numbers[sym])]
                elif name.lower() in ("ref_forces", "forces", "force"):
                    continue
                elif kind in ("R", "I"):
                    row += [float(v) for v in vals]
            rows.append(row)
        frames.append(np.array(rows))
        i += 2 + n
    return frames


def test_z_layout_equals_their_converter_on_their_sample():
    frames = read(SAMPLE, index=":")
    want = their_x_rows(SAMPLE)
    assert [len(a) for a in frames] == [13, 7]
    for atoms, x in zip(frames, want, strict=True):
        np.testing.assert_allclose(z_tokens(atoms), x, atol=1e-6, rtol=0)


def test_z_layout_with_extra_properties(tmp_path):
    atoms = read(SAMPLE, index=0)
    rng = np.random.default_rng(0)
    atoms.arrays["spin_w"] = rng.normal(size=len(atoms))
    atoms.arrays["wf_vec"] = rng.normal(size=(len(atoms), 3))
    path = tmp_path / "extra.xyz"
    write(path, atoms, format="extxyz")
    back = read(path)
    tok = z_tokens(back, ("spin_w", "wf_vec"))
    assert tok.shape == (13, 8)
    layout = their_x_rows(path)[0]  # their order: Properties order of the written file
    header = path.read_text().splitlines()[1]
    assert header.index("spin_w") < header.index("wf_vec")
    np.testing.assert_allclose(tok, layout, atol=1e-6, rtol=0)
    with pytest.raises(KeyError, match="no per-atom property 'charge_q'"):
        z_tokens(back, ("charge_q",))


def test_their_element_grid():
    assert atomic_number(3, 14) == 14 and atomic_number(4, 17) == 35 and atomic_number(4, 10) == 28
    assert (
        atomic_number(6, 4) == 72 and atomic_number(1, 2) is None and atomic_number(3.5, 14) is None
    )
    data = element_data()
    assert data["atomic_weight"]["Si"] == 28.085 and len(data["atomic_weight"]) == 118
    assert data["source"]["path"] == "utils/build_atomic_table.py"


def _native_file(tmp_path, perturb=0.0):
    """A force file in the authors' layout: {"X": [(n, 13)], "Y": [(n, 3)]}."""
    table = default_table()
    xs = []
    for d in ("C", "Ge", "Br"):
        t = tokenize(si_cell(1, dopant=d), table).astype(np.float64)
        t[:, 9] += perturb  # their E_EA values are not ours
        xs.append(
            torch.tensor(np.concatenate([t, np.ones((len(t), 1))], axis=1), dtype=torch.float32)
        )
    path = tmp_path / "trainset.pt"
    torch.save({"X": xs, "Y": [torch.zeros(len(x), 3) for x in xs]}, path)
    return path, xs


def test_tokens_equal_the_12_columns_of_their_file(tmp_path):
    from adapt.released_import import element_rows_from

    path, xs = _native_file(tmp_path, perturb=-0.47)
    table = element_rows_from(path)
    assert set(table.rows) == {"Si", "C", "Ge", "Br"}
    for x in xs:
        x = x.numpy()
        syms = [chemical_symbols[atomic_number(r[4], r[3])] for r in x]
        atoms = Atoms(syms, positions=x[:, :3])
        np.testing.assert_allclose(tokenize(atoms, table), x[:, :12], atol=1e-6, rtol=0)


def test_inconsistent_rows_are_an_error(tmp_path):
    path, xs = _native_file(tmp_path)
    xs[1][5, 9] += 1.0  # one Si row with another E_EA
    with pytest.raises(ValueError, match="element Si has two descriptor rows"):
        table_from_native([x.numpy() for x in xs], "f.pt")


def test_import_takes_their_element_rows(tmp_path):
    from adapt.released import ReleasedForceModel, authors_state_dict
    from adapt.released_config import ReleasedForceConfig
    from adapt.released_import import import_released
    from baselines.adapt import load_run

    path, xs = _native_file(tmp_path, perturb=-0.47)
    torch.manual_seed(0)
    model = ReleasedForceModel(ReleasedForceConfig(d_model=8, d_ff=8, n_layers=1, n_heads=2))
    torch.save(authors_state_dict(model), tmp_path / "f.pth")
    x = torch.cat(xs)
    stats = {"x_mean": x.mean(0), "x_std": x.std(0), "y_mean_force": torch.zeros(3)}
    torch.save(stats | {"y_std_force": torch.ones(3)}, tmp_path / "s.pt")
    run = import_released(
        tmp_path / "run", tmp_path / "s.pt", force=tmp_path / "f.pth", element_rows=path, n_heads=2
    )
    ck = load_run(run).force
    atoms = si_cell(1, dopant="Br")
    np.testing.assert_allclose(ck.tokens(atoms), xs[2].numpy()[:, :12], atol=1e-6, rtol=0)
    assert ck.meta["imported_from"]["element_rows"] == str(path.resolve())
