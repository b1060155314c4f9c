#!/usr/bin/env bash
# Make sure a headless Chromium is installed for the browser tests (test/report-browser.test.ts):
# install Debian's `chromium` with apt-get when it is missing and this user is root. Idempotent.
# Exit 0 when /usr/bin/chromium (or $NEL_TEST_CHROMIUM) runs afterwards; the tests never download a browser.
set -euo pipefail
bin="${NEL_TEST_CHROMIUM:-/usr/bin/chromium}"
works() { [ -x "$bin" ] && "$bin" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1; }
if works; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-chromium: $bin is missing and this user cannot install it (apt-get install chromium)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $bin is missing and there is no apt-get to install it" >&2
  exit 1
fi
echo "ensure-chromium: installing chromium with apt-get ..." >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
if works; then exit 0; fi
echo "ensure-chromium: $bin does not run after installing chromium" >&2
exit 1
