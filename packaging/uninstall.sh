#!/usr/bin/env bash
# Remove the Hearth desktop app that install.sh installed for the current user.
#
#   uninstall.sh            remove the app, the `hearth` command, the menu entry and icons;
#                           your conversations, settings and logs stay where they are
#   uninstall.sh --purge    also delete them (asks first; --yes skips the question)
#
# HEARTH_PREFIX must match the one given to install.sh (default ~/.local).
set -euo pipefail

PREFIX="${HEARTH_PREFIX:-$HOME/.local}"
APP_DIR="$PREFIX/lib/hearth"
BIN_DIR="$PREFIX/bin"
SHARE="${HEARTH_PREFIX:+$PREFIX/share}"
SHARE="${SHARE:-${XDG_DATA_HOME:-$HOME/.local/share}}"
# Where Hearth keeps user data by default (platformdirs' locations on Linux).
DATA_DIRS=(
    "${XDG_DATA_HOME:-$HOME/.local/share}/Hearth"
    "${XDG_CONFIG_HOME:-$HOME/.config}/Hearth"
    "${XDG_STATE_HOME:-$HOME/.local/state}/Hearth"
)

purge=0
assume_yes=0
for arg in "$@"; do
    case "$arg" in
        --purge) purge=1 ;;
        --yes | -y) assume_yes=1 ;;
        -h | --help)
            sed -n '2,9p' "$0"
            exit 0
            ;;
        *)
            echo "uninstall.sh: unknown option $arg (use --purge, --yes)" >&2
            exit 2
            ;;
    esac
done

if [ -L "$BIN_DIR/hearth" ] && [ "$(readlink "$BIN_DIR/hearth")" = "$APP_DIR/hearth" ]; then
    rm -f "$BIN_DIR/hearth"
fi
rm -f "$SHARE/applications/hearth.desktop"
rm -f "$SHARE"/icons/hicolor/*/apps/hearth.png "$SHARE/icons/hicolor/scalable/apps/hearth.svg"
if [ -x "$APP_DIR/hearth" ] || [ -d "$APP_DIR/_internal" ]; then
    rm -rf "$APP_DIR"
    echo "Removed Hearth from $APP_DIR."
else
    echo "Hearth was not installed in $APP_DIR; removed its menu entry and icons if present."
fi
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$SHARE/applications" || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -d "$SHARE/icons/hicolor" ]; then
    gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" || true
fi

if [ "$purge" -eq 0 ]; then
    echo "Your conversations, settings and logs were kept (delete them with --purge):"
    printf '  %s\n' "${DATA_DIRS[@]}"
    exit 0
fi
if [ "$assume_yes" -eq 0 ]; then
    printf 'Delete all your Hearth conversations, settings and logs in:\n'
    printf '  %s\n' "${DATA_DIRS[@]}"
    read -r -p "This cannot be undone. Type 'delete' to confirm: " answer
    if [ "$answer" != "delete" ]; then
        echo "Nothing deleted."
        exit 1
    fi
fi
rm -rf "${DATA_DIRS[@]}"
echo "Deleted your Hearth data."
if command -v secret-tool >/dev/null 2>&1; then
    secret-tool clear service Hearth 2>/dev/null || true
    echo "Removed Hearth's keys from your keychain."
fi
