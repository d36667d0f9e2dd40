#!/usr/bin/env bash
# Installs the Debian packages Khata builds and tests against, only those missing: the C libraries;
# curl and jq, which the README's examples (and the test that runs them) use; and openssl, whose
# command makes the throwaway TLS certificate of the remote-worker test; zstd, which the archive
# benchmark compares itself with and the archive tests read frames with. For the tests also
# PostgreSQL, LibreOffice's spreadsheet without a display, which opens the CSV reports as
# finance teams do, and Chromium, whose headless browser drives the review pages as a reviewer
# does. --with-screenshot-fonts adds a Bengali font, so that screenshots show the taka sign.
# Usage: scripts/setup-debian.sh [--with-postgres] [--with-screenshot-fonts]
set -euo pipefail

packages=(libpq-dev libzstd-dev libssl-dev libcsv-dev libsqlite3-dev pkg-config curl jq openssl zstd)
for option in "$@"; do
    case "$option" in
        --with-postgres) packages+=(postgresql libreoffice-calc-nogui chromium) ;;
        --with-screenshot-fonts) packages+=(chromium fonts-beng-extra) ;;
        *) echo "error: unknown option $option" >&2; exit 2 ;;
    esac
done

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null; then
    sudo=(sudo)
else
    echo "error: missing Debian packages (${missing[*]}) and no sudo to install them as $(whoami)" >&2
    exit 1
fi
echo "Installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
