"""Is a dataset directory still what its manifest says? Cheap checks on every open, full on demand.

Each trajectory's record keeps ``extra["file"] = {"bytes", "mtime_ns", "sha256"}`` of its file
as written. Opening a dataset (:class:`benchmarks.data.dataset.Dataset`) checks every file
cheaply: it must exist with the recorded size; when its mtime moved (an edit, or a copy without
-p) its sha256 is computed and compared. ``full=True`` (``adapt-bench data info --verify``) hashes
every file and recomputes the manifest's content sha256, which also covers datasets written
before files were stamped. A mismatch is a DatasetError naming the file: caches keyed on the
content hash must not be reused for changed data.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_stamp(path: Path) -> dict:
    """{"bytes", "mtime_ns", "sha256"} of a file as it is now."""
    st = path.stat()
    return {
        "bytes": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }


def verify(ds, full: bool = False) -> int:
    """Check ``ds``'s trajectory files (see module); returns how many files were hashed."""
    from benchmarks.data.dataset import DatasetError, content_sha256

    hashed = 0
    for rec in ds.manifest.trajectories:
        path = ds.root / rec.file
        if not path.is_file():
            raise DatasetError(f"{path}: missing (listed in {ds.root / 'manifest.json'})")
        stamp = rec.extra.get("file")
        if not stamp:
            continue
        st = path.stat()
        if st.st_size != stamp["bytes"]:
            raise DatasetError(
                f"{path}: changed since the dataset was written ({st.st_size} bytes, manifest "
                f"says {stamp['bytes']}); regenerate or re-import it"
            )
        if full or st.st_mtime_ns != stamp["mtime_ns"]:
            hashed += 1
            if hashlib.sha256(path.read_bytes()).hexdigest() != stamp["sha256"]:
                raise DatasetError(
                    f"{path}: changed since the dataset was written (sha256 differs from the "
                    "manifest's); regenerate or re-import it"
                )
    if full:
        got = content_sha256(ds.root, ds.manifest.trajectories, ds.level_of_theory)
        hashed = len(ds.manifest.trajectories)
        if got != ds.sha256:
            raise DatasetError(
                f"{ds.root}: content sha256 {got[:12]}… differs from the manifest's "
                f"{ds.sha256[:12]}…: the data changed since it was written"
            )
    return hashed
