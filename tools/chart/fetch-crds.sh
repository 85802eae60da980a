#!/usr/bin/env bash
# Fetch the upstream CRDs the chart renders resources of, for the Kubernetes test control plane:
# the Prometheus Operator's ServiceMonitor, PodMonitor and PrometheusRule, and the Gateway API's HTTPRoute.
#
#   tools/chart/fetch-crds.sh           fetch what is missing and print the folder that holds the CRDs
#   tools/chart/fetch-crds.sh --print   only print the folder (exit 1 when they are not fetched yet)
#
# Both projects publish their CRDs inside their Go modules, so `go mod download` (the Go module proxy)
# fetches them at the versions pinned in tools/chart/versions.env. The CRDs are copied to
#   ${DRAWNET_CACHE:-$HOME/.cache/drawnet}/crds/<prometheus-operator version>-<gateway-api version>/
# outside the repo, like the control plane's binaries (tools/k8s/build.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=versions.env
source "${here}/versions.env"

export GOTOOLCHAIN=local # never fetch another Go toolchain
export GOFLAGS="${GOFLAGS:-} -mod=mod"

dest="${DRAWNET_CACHE:-${HOME}/.cache/drawnet}/crds/prometheus-operator-${PROMETHEUS_OPERATOR_VERSION}-gateway-api-${GATEWAY_API_VERSION}"
wanted=(
  monitoring.coreos.com_servicemonitors.yaml
  monitoring.coreos.com_podmonitors.yaml
  monitoring.coreos.com_prometheusrules.yaml
  gateway.networking.k8s.io_httproutes.yaml
)

complete() {
  local file
  for file in "${wanted[@]}"; do [ -s "${dest}/${file}" ] || return 1; done
}

if [ "${1:-}" = "--print" ]; then
  complete || { echo "fetch-crds: not fetched yet (run tools/chart/fetch-crds.sh)" >&2; exit 1; }
  echo "${dest}"
  exit 0
fi

if ! complete; then
  command -v go >/dev/null || { echo "fetch-crds: the go command is missing" >&2; exit 1; }
  module_dir() { # module@version -> its folder in the module cache
    go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1
  }
  workdir=$(mktemp -d)
  trap 'rm -rf "${workdir}"' EXIT
  cd "${workdir}" # outside any module: `go mod download` of an explicit version needs no go.mod
  operator_dir=$(module_dir "github.com/prometheus-operator/prometheus-operator@${PROMETHEUS_OPERATOR_VERSION}")
  gateway_dir=$(module_dir "sigs.k8s.io/gateway-api@${GATEWAY_API_VERSION}")
  mkdir -p "${dest}.tmp"
  for file in "${wanted[@]:0:3}"; do cp "${operator_dir}/example/prometheus-operator-crd/${file}" "${dest}.tmp/"; done
  cp "${gateway_dir}/config/crd/standard/gateway.networking.k8s.io_httproutes.yaml" "${dest}.tmp/"
  chmod -R u+w "${dest}.tmp"
  rm -rf "${dest}"
  mv "${dest}.tmp" "${dest}"
fi
echo "${dest}"
