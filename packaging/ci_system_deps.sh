#!/usr/bin/env bash
# System tools the tests use beyond Python (idempotent; quick when they are present):
#   gnome-keyring-daemon, dbus-run-session, secret-tool: the real keychain test;
#   desktop-file-validate: the desktop entry's check;
#   chromium, pdftotext, pdfinfo: the HTML export in a real browser, the PDF export's text.
# Installs the missing Debian packages with apt-get when run as root; otherwise only says
# which are missing (the tests that need them then skip with the same hint).
set -euo pipefail

declare -A PACKAGE_OF=(
    [gnome-keyring-daemon]=gnome-keyring
    [dbus-run-session]=dbus
    [secret-tool]=libsecret-tools
    [desktop-file-validate]=desktop-file-utils
    [chromium]=chromium
    [pdftotext]=poppler-utils
    [pdfinfo]=poppler-utils
)

missing=()
for tool in "${!PACKAGE_OF[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("${PACKAGE_OF[$tool]}")
done
[ "${#missing[@]}" -eq 0 ] || mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "==> Missing system packages (tests that need them will skip): ${missing[*]}" >&2
    exit 0
fi
echo "==> Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}"; then
    apt-get update -q -o DPkg::Lock::Timeout=300
    apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}"
fi
