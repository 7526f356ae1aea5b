#!/usr/bin/env bash
# Install the Hearth desktop app for the current user: the app in ~/.local/lib/hearth, the
# `hearth` command in ~/.local/bin, a menu entry and icons in ~/.local/share. No root needed.
#
#   ./install.sh            from the unpacked hearth-<version>-linux-x86_64.tar.gz
#   packaging/install.sh    from a checkout, after packaging/build.py (installs dist/hearth)
#
# HEARTH_PREFIX changes ~/.local. Running it again replaces the installed app; user data
# (conversations, settings, logs) is never touched. Undo with uninstall.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="${HEARTH_PREFIX:-$HOME/.local}"
APP_DIR="$PREFIX/lib/hearth"
BIN_DIR="$PREFIX/bin"
SHARE="${HEARTH_PREFIX:+$PREFIX/share}"
SHARE="${SHARE:-${XDG_DATA_HOME:-$HOME/.local/share}}"

if [ -x "$HERE/hearth" ] && [ -d "$HERE/_internal" ]; then
    SOURCE="$HERE"
elif [ -x "$HERE/../dist/hearth/hearth" ]; then
    SOURCE="$(cd "$HERE/../dist/hearth" && pwd)"
else
    echo "install.sh: no built Hearth next to this script; run packaging/build.py first." >&2
    exit 1
fi
if [ ! -f "$SOURCE/resources/hearth.desktop" ]; then
    echo "install.sh: $SOURCE has no resources/hearth.desktop; rebuild with packaging/build.py." >&2
    exit 1
fi
if [ "$SOURCE" = "$APP_DIR" ]; then
    echo "install.sh: Hearth is already installed in $APP_DIR." >&2
    exit 1
fi

echo "Installing Hearth into $APP_DIR"
mkdir -p "$PREFIX/lib" "$BIN_DIR" "$SHARE/applications"
# Copy next to the target, then swap, so a failed copy leaves the old install working.
STAGING="$(mktemp -d "$PREFIX/lib/.hearth-install.XXXXXX")"
trap 'rm -rf "$STAGING"' EXIT
cp -a "$SOURCE/." "$STAGING/"
for script in install.sh uninstall.sh; do
    if [ -f "$HERE/$script" ]; then cp "$HERE/$script" "$STAGING/$script"; fi
done
rm -rf "$APP_DIR"
mv "$STAGING" "$APP_DIR"
chmod 755 "$APP_DIR"
trap - EXIT

ln -sfn "$APP_DIR/hearth" "$BIN_DIR/hearth"

for png in "$APP_DIR"/resources/icons/hearth-*.png; do
    size="$(basename "$png" .png)"
    size="${size#hearth-}"
    mkdir -p "$SHARE/icons/hicolor/${size}x${size}/apps"
    cp "$png" "$SHARE/icons/hicolor/${size}x${size}/apps/hearth.png"
done
mkdir -p "$SHARE/icons/hicolor/scalable/apps"
cp "$APP_DIR/resources/icons/hearth.svg" "$SHARE/icons/hicolor/scalable/apps/hearth.svg"

# The menu entry starts this install by its full path (~/.local/bin may not be on PATH).
sed "s|^Exec=.*|Exec=\"$APP_DIR/hearth\"|" "$APP_DIR/resources/hearth.desktop" \
    >"$SHARE/applications/hearth.desktop"
chmod 644 "$SHARE/applications/hearth.desktop"

if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$SHARE/applications" || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" || true
fi

echo "Hearth is in your applications menu; \`hearth\` runs it from $BIN_DIR."
case ":$PATH:" in
    *":$BIN_DIR:"*) ;;
    *) echo "($BIN_DIR is not on your PATH: add it to run \`hearth\` from a terminal.)" ;;
esac
