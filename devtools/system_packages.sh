#!/usr/bin/env bash
# Installs the Debian packages the end-to-end tests drive, when they are missing: Chromium and
# its driver for the browser tests (Selenium uses them; it downloads no browser of its own), and
# redis-server as the broker of the CeleryExecutor test, libarchive13, the library packed
# environments unpack with (the tests take both unpacking paths), and sudo, through which
# Airflow runs a task as its run_as_user (the tenant tests). Run by `make test`.
set -euo pipefail

declare -A package_of=([chromium]=chromium [chromedriver]=chromium-driver [redis-server]=redis-server [sudo]=sudo)
missing=()
for command in "${!package_of[@]}"; do
    command -v "$command" >/dev/null 2>&1 || missing+=("${package_of[$command]}")
done
dpkg-query -W -f='${Status}' libarchive13 2>/dev/null | grep -q 'install ok installed' || missing+=(libarchive13)
((${#missing[@]} == 0)) && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "Missing ${missing[*]}: install them with your system's package manager" >&2
    exit 1
fi
sudo=()
((EUID == 0)) || sudo=(sudo)
echo "Installing ${missing[*]} with apt-get"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
