#!/usr/bin/env bash
# Makes .venv and installs everything the platform and its tests need, from pinned versions.
# Idempotent and quick when nothing changed: `make up` and `make test` both run it first.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
UV_VERSION=0.13.8
VENV=.venv
STAMP=$VENV/.drawnet-installed

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
ensure_debian_packages() {
  # Installs the named Debian packages that are missing. Only runs apt when something is missing.
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# socketify's native library links the system libuv (and the room drives that libuv from asyncio).
ensure_debian_packages libuv1
if [ "${1:-}" = "--test" ]; then
  # The test tiers: PostgreSQL (real server), Chromium for the browser tier (Playwright drives Debian's
  # chromium through its executable path: Playwright's own browser downloads cannot work here), and fonts
  # so that pages and screenshots have real glyphs.
  ensure_debian_packages postgresql chromium fonts-dejavu-core
  # The Kubernetes tier: a real control plane built from Go modules, cached in ~/.cache/drawnet
  # (about 8 minutes the first time on 2 cores; instant afterwards).
  tools/k8s/build.sh etcd kube-apiserver kube-controller-manager kube-scheduler kwok helm
  # The real-node tier: kubelet, kube-proxy, containerd, the CNI plugins, CoreDNS, Traefik and the pause
  # program from Go modules (about 12 more minutes the first time), with Debian's runc, iptables and
  # conntrack; the images are built by Debian's buildah from a Debian root made by mmdebstrap.
  ensure_debian_packages runc iptables conntrack buildah mmdebstrap
  tools/k8s/build.sh node
  # The images (about 3 minutes cold, seconds after a code change, nothing when unchanged).
  tools/images/build.sh >/dev/null
  # The chart's SRE kit: promtool and a real Prometheus (Debian's package; its service is not started),
  # and the upstream ServiceMonitor/PodMonitor/PrometheusRule/HTTPRoute CRDs from their Go modules.
  ensure_debian_packages prometheus
  tools/chart/fetch-crds.sh >/dev/null
fi

# A first run on a fresh clone takes a minute or two here: say what is happening and how far it got.
say() { echo "bootstrap: $*"; }
if [ ! -x "$VENV/bin/python" ]; then
  say "[1/3] making the Python environment $VENV ($PYTHON)"
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -x "$VENV/bin/uv" ]; then
  say "[2/3] installing the package installer uv $UV_VERSION"
  "$VENV/bin/python" -m pip install -q "uv==$UV_VERSION"
fi
# The web app's tooling (type checker): node_modules/ from package.json's exact versions.
if [ "${1:-}" = "--test" ]; then
  if [ ! -f node_modules/.drawnet-installed ] || [ package.json -nt node_modules/.drawnet-installed ]; then
    npm install --silent --no-package-lock >/dev/null
    touch node_modules/.drawnet-installed
  fi
fi

if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] || [ constraints.txt -nt "$STAMP" ]; then
  pinned=$(grep -c '==' constraints.txt)
  say "[3/3] installing Drawnet and up to $pinned pinned Python packages (constraints.txt) into $VENV" \
    "(the first time it downloads them: a minute or two)"
  began=$SECONDS
  # uv's own summary lines (resolved, prepared, installed: with counts) show how far it got; the list of
  # every package it installed is left out.
  VIRTUAL_ENV=$PWD/$VENV "$VENV/bin/uv" pip install --python "$VENV/bin/python" \
    -c constraints.txt -e '.[dev]' 2>&1 | sed -u -n '/^ [-+] /!s/^/bootstrap:   /p'
  say "Python packages ready in $((SECONDS - began))s"
  touch "$STAMP"
fi
