"""Public datasets `adapt-bench data get NAME` knows: citation, licence, URL, checksum.

A checksum is listed only where a real published value is known; the others say
``sha256=None`` and are verified by what can be checked (Zenodo's own md5 from its API, archive
members present, frame counts). Nothing here is made up to look like a hash.

Files go to ``cache_dir()/downloads/<name>/``. Offline, `data get` prints one line saying where
to put the file by hand; once it is there, `data get` verifies it and `data import` reads it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from baselines.paths import cache_dir

TIMEOUT_S = 20


@dataclass(frozen=True)
class PublicDataset:
    name: str
    title: str
    citation: str
    licence: str
    homepage: str
    url: str  # what `data get` downloads ("zenodo-api:<record>" lists a Zenodo record's files)
    filename: str  # the local name under the download directory
    sha256: str | None  # None: unknown, see ``verification``
    verification: str  # how the download is checked
    member: str | None = None  # the file inside an archive that `data import` reads
    expected_frames: int | None = None
    import_args: str = ""  # extra `data import` arguments

    def folder(self) -> Path:
        return cache_dir() / "downloads" / self.name

    def path(self) -> Path:
        return self.folder() / self.filename

    def import_target(self) -> Path:
        """What `data import` reads: the extracted member, else the download (file or folder)."""
        return self.folder() / (self.member.rsplit("/", 1)[-1] if self.member else self.filename)

    def import_command(self) -> str:
        out = cache_dir() / "datasets" / self.name
        extra = f" {self.import_args}" if self.import_args else ""
        return (
            f"adapt-bench data import {self.import_target()} --out {out} --name {self.name}{extra}"
        )


REGISTRY: dict[str, PublicDataset] = {
    d.name: d
    for d in (
        PublicDataset(
            name="adapt-si-defects",
            title="ADAPT authors' Si defect DFT trajectories (VASP PBE, 216-atom cells, 56 dopants)",
            citation=(
                "E. Dramko, Y. Xiong, Y. Zhu, G. Hautier, T. Reps, C. Jermaine, A. Kyrillidis, "
                "ADAPT: Lightweight, Long-Range Machine Learning Force Fields Without Graphs, "
                "arXiv:2509.24115 (2025); data: Zenodo record 17411327"
            ),
            licence="as stated on the Zenodo record (not verified offline)",
            homepage="https://zenodo.org/records/17411327",
            url="zenodo-api:17411327",
            filename="zenodo-17411327",
            sha256=None,
            verification="md5 of every file as listed by the Zenodo API for record 17411327",
            import_args="--level-of-theory 'PBE (VASP, 520 eV, Gamma)'",
        ),
        PublicDataset(
            name="liu-he-mo-2023",
            title="Silicon MLIP datasets with vacancy and interstitial rare events (64-atom Si)",
            citation=(
                "Y. Liu, X. He, Y. Mo, Discrepancies and error evaluation metrics for machine "
                "learning interatomic potentials, npj Comput. Mater. 9 (2023), "
                "doi:10.1038/s41524-023-01123-3; arXiv:2306.11639"
            ),
            licence="none stated in the repository (cite the paper)",
            homepage="https://github.com/mogroupumd/Silicon_MLIP_datasets",
            url="https://github.com/mogroupumd/Silicon_MLIP_datasets/archive/HEAD.zip",
            filename="Silicon_MLIP_datasets.zip",
            sha256=None,
            verification="a zip with DATA.json + structure_poscars.zip set directories",
            import_args="--format liu-he-mo --level-of-theory 'DFT (VASP), DFT_K4 labels'",
        ),
        PublicDataset(
            name="si-gap-18",
            title="Si-GAP-18 training database (2,475 Si structures)",
            citation=(
                "A. P. Bartók, J. Kermode, N. Bernstein, G. Csányi, Machine Learning a "
                "General-Purpose Interatomic Potential for Silicon, Phys. Rev. X 8, 041048 "
                "(2018); data: doi:10.5281/zenodo.1250555"
            ),
            licence="CC BY-NC-SA 4.0 (as listed by the load-atoms project)",
            homepage="https://doi.org/10.5281/zenodo.1250555",
            url="https://zenodo.org/record/1250555/files/libAtoms/silicon-testing-framework-v1.0.zip",
            filename="silicon-testing-framework-v1.0.zip",
            sha256=None,
            verification="archive member gp_iter6_sparse9k.xml.xyz holds 2,475 extxyz frames",
            member="libAtoms-silicon-testing-framework-fc252cb/models/GAP/gp_iter6_sparse9k.xml.xyz",
            expected_frames=2475,
            import_args="--format extxyz --level-of-theory 'PW91 DFT (CASTEP), Si-GAP-18 database'",
        ),
    )
}


class VerificationError(RuntimeError):
    pass


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(url: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp, open(tmp, "wb") as fh:
        shutil.copyfileobj(resp, fh)
    tmp.replace(dest)


def verify(ds: PublicDataset) -> str:
    """Check the placed file(s); return what was checked; VerificationError when wrong."""
    path = ds.path()
    if ds.sha256 is not None:
        got = _sha256(path)
        if got != ds.sha256:
            raise VerificationError(f"{path}: sha256 {got} != expected {ds.sha256}")
        return f"sha256 {got}"
    if ds.url.startswith("zenodo-api:"):
        listing = path / "zenodo-files.json"
        if not listing.is_file():  # placed by hand: no Zenodo listing to check against
            data = [p for p in path.rglob("*") if p.suffix in (".pt", ".xyz", ".extxyz", ".zip")]
            if not data:
                raise VerificationError(f"{path}: no .pt/.xyz/.extxyz/.zip files")
            return f"{len(data)} data files placed by hand (no Zenodo listing, md5 not checked)"
        for f in json.loads(listing.read_text()):
            algo, _, value = f["checksum"].partition(":")
            target = path / f["key"]
            if algo != "md5" or not target.is_file() or _md5(target) != value:
                raise VerificationError(f"{target}: missing or checksum differs from Zenodo's")
        return "md5 of every file matches the Zenodo record"
    if not zipfile.is_zipfile(path):
        raise VerificationError(f"{path}: not a zip archive")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        if ds.member:
            if ds.member not in names:
                raise VerificationError(f"{path}: archive lacks {ds.member}")
            target = ds.import_target()
            with zf.open(ds.member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            if ds.expected_frames is not None:
                import ase.io

                n = sum(1 for _ in ase.io.iread(target, format="extxyz"))
                if n != ds.expected_frames:
                    raise VerificationError(f"{target}: {n} frames, expected {ds.expected_frames}")
            return f"{ds.member} extracted ({ds.expected_frames} frames)"
        if not any(n.endswith("DATA.json") for n in names):
            raise VerificationError(f"{path}: no DATA.json set directories in the archive")
        return f"zip with {sum(n.endswith('DATA.json') for n in names)} DATA.json sets"


def get(name: str, online: bool = True) -> tuple[bool, str]:
    """Download (when online and missing) and verify; (ok, one line for the user)."""
    if name not in REGISTRY:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(REGISTRY)}")
    ds = REGISTRY[name]
    path = ds.path()
    if not path.exists() and online:
        try:
            _fetch(ds)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            return False, _offline_line(ds, f"download failed ({exc.__class__.__name__})")
    if not path.exists():
        return False, _offline_line(ds, "offline")
    try:
        checked = verify(ds)
    except VerificationError as exc:
        return False, f"{name}: verification failed: {exc}"
    return True, f"{name}: {path} verified ({checked}); next: {ds.import_command()}"


def _fetch(ds: PublicDataset) -> None:
    if ds.url.startswith("zenodo-api:"):
        record = ds.url.split(":", 1)[1]
        with urllib.request.urlopen(
            f"https://zenodo.org/api/records/{record}", timeout=TIMEOUT_S
        ) as resp:
            files = json.load(resp)["files"]
        folder = ds.path()
        for f in files:
            _download(f["links"]["self"], folder / f["key"])
        (folder / "zenodo-files.json").write_text(json.dumps(files, indent=1))
    else:
        _download(ds.url, ds.path())


def _offline_line(ds: PublicDataset, why: str) -> str:
    what = f"the files of {ds.homepage}" if ds.url.startswith("zenodo-api:") else ds.url
    return (
        f"{ds.name}: {why}; download {what} to {ds.path()} and rerun "
        f"`adapt-bench data get {ds.name}`, then `{ds.import_command()}`"
    )
