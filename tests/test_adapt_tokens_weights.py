"""ADAPT tokens (element table) and the Eq. 12 / Eq. 13 importance weights."""

import math

import numpy as np
import pytest
from ase import Atoms
from ase.data import chemical_symbols

from adapt.tokens import NOBLE_GASES, UnknownElementError, default_table, tokenize
from adapt.weights import eq12, eq13, eq13_raw, importance_weights
from benchmarks.data.dataset import Defect
from benchmarks.data.defects import resolve_defect
from benchmarks.testing import si_cell


def test_every_element_h_to_bi_except_noble_gases_has_a_complete_token():
    table = default_table()
    expected = [chemical_symbols[z] for z in range(1, 84) if z not in NOBLE_GASES]
    assert list(table.symbols) == expected and len(expected) == 78
    for sym in expected:
        row = table.descriptors(sym)
        assert row.shape == (9,) and np.all(np.isfinite(row)), sym
        assert 1 <= row[0] <= 18 and 1 <= row[1] <= 6 and row[3] > 0 and row[4] >= 1, sym


def test_si_token_matches_the_authors_values():
    tok = tokenize(si_cell(1, dopant=None))[0]
    authors = [14, 3, 1.9, 111, 4, 8.1517, 133.6, 1.1, 12.06]
    np.testing.assert_allclose(tok[3:], authors, rtol=5e-3)  # E_EA: 134.1 vs 133.6 kJ/mol
    np.testing.assert_allclose(tok[:3], 0.0)


@pytest.mark.parametrize(
    "sym, n",
    [
        ("Si", 4),
        ("C", 4),
        ("Ga", 3),
        ("Pb", 4),
        ("Bi", 5),
        ("Fe", 8),
        ("Cr", 6),
        ("Mo", 6),
        ("Pt", 10),
        ("Pd", 10),
        ("Cu", 11),
        ("Zn", 12),
        ("Yb", 2),
        ("H", 1),
    ],
)
def test_valence_electron_counts(sym, n):
    assert default_table().descriptors(sym)[4] == n


@pytest.mark.parametrize("sym", ["He", "Ar", "Po", "U"])
def test_unknown_element_is_a_clear_error_naming_it(sym):
    atoms = Atoms(["Si", sym], positions=[[0, 0, 0], [1.5, 0, 0]])
    with pytest.raises(UnknownElementError, match=f"'{sym}'"):
        tokenize(atoms)


def test_eq12_against_a_hand_computed_case():
    # two atoms at 1 Å and 2 Å from one defect, another defect 3 Å from both (no cell)
    atoms = Atoms("Si3", positions=[[0, 0, 0], [1, 0, 0], [2, 0, 0]])
    sites = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])  # atom 0 and atom 2 are defects
    lam1, lam2 = 10.0, 1.0
    # atom 0: d²=0 and 4; atom 1: 1 and 1; atom 2: 4 and 0
    hand = [
        (1 + 10 / (0 + 1)) * (1 + 10 / (4 + 1)),  # 11 * 3 = 33
        (1 + 10 / (1 + 1)) * (1 + 10 / (1 + 1)),  # 6 * 6 = 36
        (1 + 10 / (4 + 1)) * (1 + 10 / (0 + 1)),  # 33
    ]
    w = importance_weights(atoms, sites, "weighted", lam1, lam2)
    np.testing.assert_allclose(w, hand)
    np.testing.assert_allclose(hand, [33, 36, 33])


def test_eq13_as_written_and_shifted():
    d2 = np.array([[0.0, 4.0], [1.0, 1.0], [4.0, 0.0]])
    raw = eq13_raw(d2, lambda2=1.0)
    hand = [math.log(1 / 1) + math.log(1 / 5), 2 * math.log(1 / 2), math.log(1 / 5) + 0.0]
    np.testing.assert_allclose(raw, hand)
    np.testing.assert_allclose(eq13(d2, 1.0), np.array(hand) - min(hand) + 1)
    assert eq13(d2, 1.0).min() == pytest.approx(1.0)


def test_weights_use_minimum_image_and_mse_is_uniform():
    atoms = si_cell(2)  # 10.862 Å cube
    L = atoms.cell[0, 0]
    site = np.array([[0.1, 0.0, 0.0]])
    atoms.positions[1] = [L - 0.4, 0.0, 0.0]  # 0.5 Å from the site through the boundary
    w = importance_weights(atoms, site, "weighted", 10.0, 1.0)
    assert w[1] == pytest.approx(1 + 10 / (0.25 + 1))
    assert np.all(importance_weights(atoms, site, "mse") == 1)
    assert np.all(eq12(np.zeros((5, 0)), 10, 1) == 1)  # no defect: product over nothing


def test_defect_positions_from_manifest_sites_and_vacancies():
    atoms = si_cell(1)
    d = Defect("complex", ("C",), (0, 3), ((1.0, 2.0, 3.0),))
    pos = resolve_defect(atoms, d, "Si").positions(atoms)
    np.testing.assert_allclose(pos, [atoms.positions[0], atoms.positions[3], [1, 2, 3]])


def test_defect_positions_fall_back_to_the_detector():
    atoms = si_cell(2)  # C on site 0, no sites in the record
    np.testing.assert_allclose(
        resolve_defect(atoms, Defect("unknown"), "Si").positions(atoms), atoms.positions[:1]
    )
