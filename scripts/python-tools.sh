#!/usr/bin/env bash
# Python tools the tests use, in a virtual environment at the repository root
# (.venv, git-ignored): pyxform, the XLSForm converter KoBoToolbox and ODK
# use, which also bundles ODK Validate (run with Java, offline); and moto,
# whose server mode is the S3-compatible object store the log's bucket
# tests and benchmarks run against on loopback; and schemathesis, which
# checks the API against its OpenAPI document (tests/contract/run.sh).
# crates/corridor-forms/tests/pyxform.rs finds .venv/bin/xls2xform;
# crates/corridor-log/tests/object_store.rs finds .venv/bin/moto_server.
set -euo pipefail
cd "$(dirname "$0")/.."

PYXFORM_VERSION=4.5.0
MOTO_VERSION=5.2.5
SCHEMATHESIS_VERSION=4.32.5

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
if ! command -v java >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
if [ ! -x .venv/bin/pip ]; then
    python3 -m venv .venv
fi
if [ "$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("pyxform"))' 2>/dev/null)" != "$PYXFORM_VERSION" ]; then
    .venv/bin/pip install --quiet --disable-pip-version-check "pyxform==$PYXFORM_VERSION"
fi
.venv/bin/xls2xform --help >/dev/null
if [ "$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null)" != "$MOTO_VERSION" ] \
    || [ ! -x .venv/bin/moto_server ]; then
    .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
.venv/bin/moto_server --help >/dev/null
if [ "$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" != "$SCHEMATHESIS_VERSION" ]; then
    .venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
.venv/bin/schemathesis --version >/dev/null
echo "pyxform $PYXFORM_VERSION, moto $MOTO_VERSION and schemathesis $SCHEMATHESIS_VERSION in .venv"
