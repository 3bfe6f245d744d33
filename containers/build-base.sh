#!/bin/sh
# Build the Dockerfile's base image (python:3.12-slim-trixie) offline with mmdebstrap, for
# machines that reach a Debian mirror but no container registry (`make docker-base`).
# The mirror is read from this machine's apt sources at run time (DEBIAN_MIRROR overrides).
# The base has Debian trixie's Python 3.13 (the registry image has 3.12; csefem supports both)
# and, like the registry image, passwd (useradd).
#
#   containers/build-base.sh [TAG]        # default tag: python:3.12-slim-trixie
set -eu
tag=${1:-python:3.12-slim-trixie}
mirror=${DEBIAN_MIRROR:-$(
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
        2>/dev/null \
    | sed -n -e 's/^URIs:[[:space:]]*//p' \
             -e 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}\([^[:space:]]*\).*/\2/p' \
    | tr ' ' '\n' | grep -v -e security -e '^$' | head -n 1)}
if [ -z "$mirror" ]; then
    echo "build-base.sh: no Debian mirror in /etc/apt/sources.list*; set DEBIAN_MIRROR" >&2
    exit 2
fi
# This machine's local CAs (site TLS proxies) go into the base too, so that apt and pip in
# `docker build` trust what the host trusts.
cas=/usr/local/share/ca-certificates
set --
if ls "$cas"/*.crt > /dev/null 2>&1; then
    set -- --customize-hook="sync-in $cas $cas" \
           --customize-hook='chroot "$1" update-ca-certificates'
fi
echo "build-base.sh: trixie from $mirror -> $tag" >&2
mmdebstrap --variant=apt --format=tar \
    --include=python3,python3-venv,python3-dev,python-is-python3,ca-certificates,passwd \
    "$@" trixie - "$mirror" | docker import - "$tag"
