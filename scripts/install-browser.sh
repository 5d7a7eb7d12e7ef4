#!/usr/bin/env bash
# Installs the headless browser of tests/test_dashboard_browser.py: Debian's chromium and its
# chromedriver, both from the distribution (no download from elsewhere, versions always paired).
# Idempotent: does nothing when both binaries exist. Needs root (or sudo) only when installing.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver

if [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser.sh: no apt-get here; install chromium and chromedriver as" \
         "$CHROMIUM and $CHROMEDRIVER by hand" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-browser.sh: run as root (or install sudo) to apt-get install chromium" >&2
        exit 1
    fi
    SUDO="sudo"
fi

echo "install-browser.sh: installing chromium and chromium-driver with apt-get" >&2
$SUDO apt-get update
# With recommends: they bring the fonts the screenshots are rendered with.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver

if [ ! -x "$CHROMIUM" ] || [ ! -x "$CHROMEDRIVER" ]; then
    echo "install-browser.sh: apt-get finished but $CHROMIUM or $CHROMEDRIVER is missing" >&2
    exit 1
fi
