#!/usr/bin/env bash
# Build .venv-sevennet/ at the repository root: SevenNet's own environment, used by the
# out-of-process model family `sevennet` (baselines/sevennet.py starts
# baselines/workers/sevennet_worker.py with this environment's python).
#
# Why a second environment: sevenn 0.13.0 requires e3nn>=0.5.0 while mace-torch (in .venv)
# pins e3nn==0.4.4; one environment cannot hold both. torch stays at 2.13.0 (the CPU build the
# main lock uses). The SevenNet-0 weights ship inside the sevenn wheel, so no download at run time.
# Idempotent: a stamp keyed on this script skips work when nothing changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${PYTHON:-python3.11}
venv=.venv-sevennet
stamp=$venv/.adapt-bench-stamp
want=$(sha256sum scripts/setup_sevennet.sh | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    echo "setup_sevennet: $venv is up to date"
    exit 0
fi
[[ -x $venv/bin/python ]] || "$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install torch==2.13.0
"${pip[@]}" install torch==2.13.0 sevenn==0.13.0
"$venv/bin/python" -c "import sevenn, e3nn, torch; print('setup_sevennet: sevenn', sevenn.__version__, 'e3nn', e3nn.__version__, 'torch', torch.__version__)"
echo "$want" > "$stamp"
