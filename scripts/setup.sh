#!/usr/bin/env bash
# Build (or refresh) the project environment in .venv/ at the repository root.
#
# Two steps, on purpose: mace-torch pins e3nn==0.4.4 while mattersim *declares* e3nn>=0.5,
# torchvision and torchaudio, so one resolver pass can never succeed. mattersim only uses
# e3nn.math.soft_one_hot_linspace, identical in 0.4.4, so it goes in with --no-deps after
# everything else (its real runtime needs are listed in pyproject.toml). Every step is
# constrained by requirements/constraints.txt, which also keeps torch at the local CPU
# build 2.13.0 (an unpinned torch pulls a multi-GB CUDA build).
# Idempotent: a stamp keyed on the lock and pyproject skips work when nothing changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${PYTHON:-python3.11}
lock=requirements/constraints.txt
stamp=.venv/.adapt-bench-stamp
want=$(cat "$lock" pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    echo "setup: .venv is up to date"
    exit 0
fi
[[ -x .venv/bin/python ]] || "$py" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${pip[@]}" install -c "$lock" torch==2.13.0
"${pip[@]}" install -c "$lock" -e ".[dev]"
"${pip[@]}" install -c "$lock" --no-deps mattersim==1.2.3
echo "$want" > "$stamp"
echo "setup: .venv ready ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
