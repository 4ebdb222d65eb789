"""Defect-region SOAP separation on the quick suite's relaxations (docs/relaxation-soap.md).

    python scripts/relax_soap_study.py [--optimizer FIRE] [--sigma 1.0 0.2 ...] NAME=SPEC ...

Relaxes the first frame of the quick suite's test targets (benchmarks.tasks.relaxation,
4 trajectories) with each model (SPEC: a registry spec, e.g. ``mace:PATH/mace.model``) and with
the dataset's reference calculator (``reference``), under the quick suite's relaxation settings;
the start frame is the zero model's structure. Prints, per structure and trajectory, 1 − SOAP of
the defect region, RMSD, the largest atom displacement from the reference-relaxed frame, and per
SOAP width σ the median of each structure and the zero / structure ratio.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics

import numpy as np

from baselines.registry import LoadContext, load_model
from benchmarks.data.default import default_dataset
from benchmarks.data.references import get_reference
from benchmarks.metrics import defect_region_mask
from benchmarks.relax import RelaxSettings, relax
from benchmarks.structure_compare import (
    SoapSettings,
    _displacements,
    local_soap_similarity,
    rmsd,
)
from benchmarks.suite import load_suite
from benchmarks.tasks.relaxation import relax_targets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help="NAME=SPEC")
    ap.add_argument("--optimizer", default=None, help="default: the quick suite's")
    ap.add_argument("--sigma", type=float, nargs="+", default=[1.0])
    args = ap.parse_args()
    suite = load_suite("quick")
    options = dict(suite.relax.options)
    if args.optimizer:
        options["optimizer"] = args.optimizer
    settings = RelaxSettings(**options)
    ds = default_dataset(progress=False)
    recs = relax_targets(ds, suite.relax.max_trajectories)
    pairs = {r.id: ds.read(r, [0, r.n_frames - 1]) for r in recs}
    structures = {"zero (start)": {i: first for i, (first, _) in pairs.items()}}
    ref = get_reference(ds.manifest.reference["name"])
    calcs = {"reference": lambda atoms: ref.calculator(atoms.get_chemical_symbols())}
    for text in args.models:
        name, _, spec = text.partition("=")
        ff = load_model(spec, LoadContext(device="cpu", train_data=ds))
        calcs[name] = lambda atoms, ff=ff: ff.calculator()
    for name, calc in calcs.items():
        structures[name] = {}
        for r in recs:
            first = pairs[r.id][0]
            res = relax(first, calc(first), settings, use_energy=True)
            print(f"relaxed {name} {r.id}: {res.outcome} in {res.steps} steps", flush=True)
            structures[name][r.id] = res.atoms
    for sigma in args.sigma:
        soap = dataclasses.replace(SoapSettings(), sigma=sigma)
        medians = {}
        for name, by_id in structures.items():
            vals = []
            for r in recs:
                last = pairs[r.id][1]
                mask = defect_region_mask(last, r.defect)
                v = 1 - local_soap_similarity(by_id[r.id], last, mask, soap)
                d = np.linalg.norm(_displacements(by_id[r.id], last), axis=1)
                print(
                    f"sigma {sigma} {name:14s} {r.id:22s} 1-SOAP(defect) {v:.2e} "
                    f"RMSD {rmsd(by_id[r.id], last):.3f} max disp {d.max():.2f} (atom {d.argmax()})"
                )
                vals.append(v)
            medians[name] = statistics.median(vals)
        zero = medians["zero (start)"]
        for name, m in medians.items():
            print(f"sigma {sigma} median {name:14s} {m:.2e}  zero/this {zero / m:.3g}x")


if __name__ == "__main__":
    main()
