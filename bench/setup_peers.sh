#!/usr/bin/env bash
# Creates bench/.venv-peers: the peer vector databases bench/vector_search.py compares rookdb with.
# They stay out of rookdb's own dependencies; versions are pinned so runs stay comparable.
set -euo pipefail

bench="$(cd "$(dirname "$0")" && pwd)"
venv="$bench/.venv-peers"
python="${PYTHON:-python3.11}"

"$python" -m venv "$venv"
printf '*\n' > "$venv/.gitignore"  # keep the venv out of git without touching the repo's ignore files
"$venv/bin/pip" install --quiet --disable-pip-version-check \
    chromadb==1.5.9 \
    lancedb==0.40.0 \
    pyarrow==26.0.1 \
    numpy==2.4.6
"$venv/bin/python" -c "import chromadb, lancedb; print('peers ready: chromadb', chromadb.__version__, '/ lancedb', lancedb.__version__)"
