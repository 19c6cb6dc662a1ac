#!/usr/bin/env bash
# Headless Chromium for the browser tests in tests/test_html.py, and a CJK font so that
# Chinese renders as glyphs rather than boxes. Quick no-op when already installed.
set -euo pipefail

PACKAGES=(chromium chromium-driver fonts-noto-cjk)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

if [ -x /usr/bin/chromium ] && installed chromium-driver && installed fonts-noto-cjk; then
    echo "setup-browser: ${PACKAGES[*]} already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

# env, not export: sudo would drop an exported DEBIAN_FRONTEND and apt could stop to ask.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
/usr/bin/chromium --version
