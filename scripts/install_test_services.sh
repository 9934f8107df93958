#!/bin/sh
# Install the system services the test suite needs, when they are missing.
#
#   chromium        headless browser that renders the HTML report (tests/test_report.py)
#   PostgreSQL 15   server binaries (initdb, pg_ctl) for the to_sql round trip
#                   (tests/conftest.py starts a throwaway server per session)
#   fonts-noto-cjk  a font with Chinese characters, so that the zh plots and the
#                   zh report render without missing glyphs (tests/test_plotting.py)
#
# Idempotent: does nothing when everything is present. Never fails the build:
# when a package cannot be installed (not root, no apt-get, no network) it says
# why and exits 0, and the tests that need it skip with a stated reason.
set -u

missing=""
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
    missing="$missing chromium"
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    missing="$missing postgresql"
fi
if ! ls /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1; then
    missing="$missing fonts-noto-cjk"
fi

if [ -z "$missing" ]; then
    echo "install_test_services: chromium, PostgreSQL server binaries and a CJK font" \
         "already present."
    exit 0
fi

echo "install_test_services: missing:$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "install_test_services: not root, cannot apt-get install$missing;" \
         "the tests that need them will skip."
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_test_services: no apt-get on this machine, cannot install$missing;" \
         "the tests that need them will skip."
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# Only refresh the package lists when the packages are unknown to apt.
for pkg in $missing; do
    if ! apt-cache show "$pkg" >/dev/null 2>&1; then
        apt-get update -qq || true
        break
    fi
done
# shellcheck disable=SC2086  # word splitting of the package list is intended
if apt-get install -y -qq --no-install-recommends $missing; then
    echo "install_test_services: installed$missing."
else
    echo "install_test_services: apt-get install$missing failed (see above);" \
         "the tests that need them will skip."
fi
exit 0
