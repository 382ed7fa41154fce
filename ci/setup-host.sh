#!/bin/sh
# Install what building and testing XenBox needs on a Debian bookworm machine:
# the host tools (apt) and a Python environment in .venv. Safe to run again.
set -e
cd "$(dirname "$0")/.."
missing=""
for pkg in $(cat ci/host-packages.txt); do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    echo "setup: installing host packages:$missing"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi
if [ ! -x .venv/bin/python ] || ! cmp -s requirements-dev.txt .venv/requirements-dev.txt; then
    echo "setup: creating the Python environment in .venv"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
    cp requirements-dev.txt .venv/requirements-dev.txt
fi
