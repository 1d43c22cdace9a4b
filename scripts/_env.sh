# Sourced by the scripts in this folder: make .venv with the project and the
# given extras installed, on a fresh Debian machine as much as on a dev box.
# Usage: ensure_venv EXTRAS   (e.g. ensure_venv dev)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

_apt_install() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        if [ -z "${_APT_UPDATED:-}" ]; then apt-get update -qq; _APT_UPDATED=1; fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        echo "missing: $* (install it with your package manager, then rerun)" >&2
        exit 1
    fi
}

ensure_venv() {
    local extras=$1
    command -v python3 >/dev/null || _apt_install python3 python3-venv
    if [ ! -x .venv/bin/python ]; then
        rm -rf .venv
        if ! python3 -m venv .venv >/dev/null 2>&1; then
            rm -rf .venv
            _apt_install python3-venv
            python3 -m venv .venv
        fi
    fi
    local stamp=".venv/.installed-$extras-$(cat pyproject.toml | cksum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ]; then
        .venv/bin/python -m pip install -q --upgrade pip
        # The distribution was named "cache" before "tagcache": drop an old install.
        .venv/bin/python -m pip uninstall -q -y cache >/dev/null 2>&1 || true
        .venv/bin/python -m pip install -q -e ".[$extras]"
        touch "$stamp"
    fi
}

# The tests run real Redis servers (single and cluster) on loopback ports.
ensure_redis_server() {
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        _apt_install redis-server
    fi
}

# The dashboard's browser test drives Debian's chromium with Playwright.
ensure_chromium() {
    if ! command -v chromium >/dev/null; then
        _apt_install chromium
    fi
}

# The optional compiled core (scripts/build-compiled): a C compiler and the Python headers.
ensure_compiler() {
    local include version
    include=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['include'])")
    version=$(.venv/bin/python -c "import sys; print('%d.%d' % sys.version_info[:2])")
    if ! command -v gcc >/dev/null || [ ! -f "$include/Python.h" ]; then
        # The headers of the venv's own Python (Debian: python3.11-dev for 3.11).
        _apt_install gcc "python${version}-dev"
    fi
    if [ ! -f "$include/Python.h" ]; then
        echo "no Python.h in $include: install the headers of Python $version, then rerun" >&2
        exit 1
    fi
}
