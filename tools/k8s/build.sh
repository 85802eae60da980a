#!/usr/bin/env bash
# Build the Kubernetes test control plane's binaries from Go modules (no Docker, no prebuilt downloads).
#
#   tools/k8s/build.sh [component...]   build what is missing (default: all) and print where each binary is
#   tools/k8s/build.sh --print [c...]   only print the paths (exit 1 if one is not built yet)
#
# Components: the control plane: kube-apiserver kube-controller-manager kube-scheduler etcd kwok helm
#             ("kubernetes" = the three kube-*); the real node: kubelet kube-proxy containerd (with
#             containerd-shim-runc-v2 and ctr) cni-plugins (bridge host-local loopback portmap)
#             coredns traefik pause ("node" = all of these).
# Versions are pinned in tools/k8s/versions.env. Binaries land in
#   ${DRAWNET_CACHE:-$HOME/.cache/drawnet}/k8s/<component>-<version>/<component>
# outside the repo, so any clone reuses them; a component is rebuilt only when its pinned version
# (or the recipe stamp below) changes. Each module is built inside a small generated wrapper module
# under .../k8s/src/<module>-<version>/ so the dependency's own replace directives can be honoured.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=versions.env
source "${here}/versions.env"

cache_root="${DRAWNET_CACHE:-${HOME}/.cache/drawnet}/k8s"
# Bump when the way a binary is built changes (flags, ldflags), to force a rebuild of everything.
recipe=1

export CGO_ENABLED=0
export GOTOOLCHAIN=local # never fetch another Go toolchain: build with the one installed
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

control_plane_components=(kube-apiserver kube-controller-manager kube-scheduler etcd kwok helm)
node_components=(kubelet kube-proxy containerd cni-plugins coredns traefik pause)
all_components=("${control_plane_components[@]}" "${node_components[@]}")
repo_root="$(cd "${here}/../.." && pwd)"

log() { printf '[k8s-build] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# component -> "module version out=package [out=package...]": each package is built into
# <cache>/<component>-<version>/<out>. The first one is the component's main binary.
spec() {
  case "$1" in
  kube-apiserver | kube-controller-manager | kube-scheduler | kubelet | kube-proxy)
    echo "k8s.io/kubernetes ${KUBERNETES_VERSION} $1=k8s.io/kubernetes/cmd/$1"
    ;;
  etcd) echo "go.etcd.io/etcd/server/v3 ${ETCD_VERSION} etcd=go.etcd.io/etcd/server/v3" ;; # 3.6: main.go -> etcdmain
  kwok) echo "sigs.k8s.io/kwok ${KWOK_VERSION} kwok=sigs.k8s.io/kwok/cmd/kwok" ;;
  helm) echo "helm.sh/helm/v3 ${HELM_VERSION} helm=helm.sh/helm/v3/cmd/helm" ;;
  containerd)
    local m=github.com/containerd/containerd/v2
    echo "${m} ${CONTAINERD_VERSION} containerd=${m}/cmd/containerd" \
      "containerd-shim-runc-v2=${m}/cmd/containerd-shim-runc-v2 ctr=${m}/cmd/ctr"
    ;;
  cni-plugins)
    local m=github.com/containernetworking/plugins
    echo "${m} ${CNI_PLUGINS_VERSION} bridge=${m}/plugins/main/bridge host-local=${m}/plugins/ipam/host-local" \
      "loopback=${m}/plugins/main/loopback portmap=${m}/plugins/meta/portmap"
    ;;
  coredns) echo "github.com/coredns/coredns ${COREDNS_VERSION} coredns=github.com/coredns/coredns" ;;
  traefik) echo "github.com/traefik/traefik/v3 ${TRAEFIK_VERSION} traefik=github.com/traefik/traefik/v3/cmd/traefik" ;;
  # The sandbox ("pause") container's program: ours, in tools/k8s/pause (no registry serves one here).
  pause) echo "drawnet.local/pause $(pause_version) pause=drawnet.local/pause" ;;
  *) die "unknown component '$1' (known: ${all_components[*]} kubernetes node)" ;;
  esac
}

# The pause program's version: a digest of its source, so an edit rebuilds it.
pause_version() {
  echo "src-$(cat "${here}/pause/go.mod" "${here}/pause/main.go" | sha256sum | cut -c1-12)"
}

# Build tags a module needs (containerd: no btrfs snapshotter, which needs cgo).
tags_for() {
  case "$1" in
  containerd) echo "no_btrfs" ;;
  *) echo "" ;;
  esac
}

binary_path() {
  local module version first
  read -r module version first _ <<<"$(spec "$1")"
  echo "${cache_root}/$1-${version}/${first%%=*}"
}

# A JSON string field of `go mod download -json` output (flat object, one field per line).
json_field() { sed -n "s/^[[:space:]]*\"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" <<<"$1" | head -n1; }

# Print the replace directives of a go.mod, one "old [ver] => new [ver]" per line.
replace_lines() {
  awk '
    { sub(/\/\/.*/, "") }
    /^replace[[:space:]]*\($/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    /^replace[[:space:]]/ { sub(/^replace[[:space:]]+/, ""); print; next }
    inblock && NF { sub(/^[[:space:]]+/, ""); print }
  ' "$1"
}

# Generate (once per module version) the wrapper module that builds <module>@<version>, and print its dir.
prepare_module() {
  local module="$1" version="$2"
  local src="${cache_root}/src/${module//\//_}-${version}"
  if [[ -f "${src}/.ready" ]]; then
    echo "${src}"
    return
  fi
  log "resolving ${module}@${version} through the module proxy"
  local info dep_gomod
  info="$(go mod download -json "${module}@${version}")" || die "go mod download ${module}@${version} failed"
  dep_gomod="$(json_field "${info}" GoMod)"
  [[ -n "${dep_gomod}" && -f "${dep_gomod}" ]] || die "no go.mod for ${module}@${version}: ${info}"

  rm -rf "${src}"
  mkdir -p "${src}"
  local go_directive
  go_directive="$(awk '$1 == "go" { print $2; exit }' "${dep_gomod}")"
  {
    echo "// Generated by tools/k8s/build.sh: builds ${module}@${version}. Do not edit."
    echo "module drawnet.local/k8s-build/${module//\//-}"
    echo
    echo "go ${go_directive:-1.26.0}"
    # The dependency's godebug defaults only apply in a main module: carry them over.
    grep -E '^godebug[[:space:]]' "${dep_gomod}" || true
    echo
    echo "require ${module} ${version}"
    echo
    echo "replace ("
    local line old oldver new newver minor_patch
    while read -r line; do
      # "old => new ver" or "old oldver => new ver" or "old => ./local/path"
      read -r old oldver <<<"${line%%=>*}"
      old="${old}${oldver:+ ${oldver}}"
      read -r new newver <<<"${line#*=>}"
      if [[ "${new}" == ./staging/src/* && "${module}" == "k8s.io/kubernetes" ]]; then
        # k8s.io/kubernetes requires its staging modules at v0.0.0 and points them into its own tree;
        # outside that tree they are the published k8s.io/<name> v0.<minor>.<patch> modules.
        minor_patch="${version#v1.}"
        echo "	${old} => ${new#./staging/src/} v0.${minor_patch}"
      elif [[ "${new}" == ./* || "${new}" == ../* ]]; then
        continue # a path inside the dependency's repo: its require line already names the real version
      else
        echo "	${old} => ${new} ${newver}"
      fi
    done < <(replace_lines "${dep_gomod}")
    echo ")"
  } >"${src}/go.mod"
  echo "${dep_gomod}" >"${src}/.dep-gomod"
  touch "${src}/.ready.pending"
  echo "${src}"
}

ldflags_for() {
  local component="$1" module="$2" version="$3" src="$4"
  local flags="-s -w" dep_gomod date=""
  dep_gomod="$(cat "${src}/.dep-gomod")"
  local info_file="${dep_gomod%.mod}.info"
  if [[ -f "${info_file}" ]]; then
    # Reproducible build date: the release's own timestamp from the proxy.
    date="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "${info_file}")"
  fi
  case "${component}" in
  kube-* | kubelet)
    local major minor
    major="${version#v}"
    major="${major%%.*}"
    minor="${version#v*.}"
    minor="${minor%%.*}"
    for pkgvar in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      flags+=" -X ${pkgvar}.gitVersion=${version}"
      flags+=" -X ${pkgvar}.gitMajor=${major}"
      flags+=" -X ${pkgvar}.gitMinor=${minor}"
      flags+=" -X ${pkgvar}.gitTreeState=clean"
      [[ -n "${date}" ]] && flags+=" -X ${pkgvar}.buildDate=${date}"
    done
    ;;
  containerd)
    flags+=" -X github.com/containerd/containerd/v2/version.Version=${version}"
    flags+=" -X github.com/containerd/containerd/v2/version.Package=github.com/containerd/containerd/v2"
    ;;
  coredns)
    flags+=" -X github.com/coredns/coredns/coremain.GitCommit=${version}"
    ;;
  traefik)
    flags+=" -X github.com/traefik/traefik/v3/pkg/version.Version=${version}"
    [[ -n "${date}" ]] && flags+=" -X github.com/traefik/traefik/v3/pkg/version.BuildDate=${date}"
    ;;
  kwok)
    flags+=" -X sigs.k8s.io/kwok/pkg/consts.Version=${version#v}"
    ;;
  helm)
    flags+=" -X helm.sh/helm/v3/internal/version.version=${version}"
    flags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
    # As helm's Makefile does: the Kubernetes version it reports is the one of its client-go.
    local kminor
    kminor="$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "${dep_gomod}")"
    kminor="${kminor#v0.}"
    kminor="${kminor%%.*}"
    if [[ -n "${kminor}" ]]; then
      for pkgvar in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
        flags+=" -X ${pkgvar}.k8sVersionMajor=1 -X ${pkgvar}.k8sVersionMinor=${kminor}"
      done
    fi
    ;;
  esac
  echo "${flags}"
}

# The standalone kwok binary has no built-in stages (kwokctl writes them into its config): ship the
# release's own default ones beside the binary, as kwokctl does for its clusters with node leases:
# node-initialize + node-heartbeat-with-lease (run kwok with --node-lease-duration-seconds) and the
# fast pod stages (ready, complete, delete).
write_kwok_stages() {
  local dir="$1" f first=1
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [[ -f "${dir}/kustomize/stage/${f}" ]] || die "kwok stage ${f} not found in ${dir}"
    ((first)) || echo "---"
    first=0
    echo "# from sigs.k8s.io/kwok ${KWOK_VERSION}: kustomize/stage/${f}"
    cat "${dir}/kustomize/stage/${f}"
  done
}

build_one() {
  local component="$1"
  local module version
  local -a outs
  read -r module version <<<"$(spec "${component}" | cut -d' ' -f1,2)"
  read -r -a outs <<<"$(spec "${component}" | cut -d' ' -f3-)"
  local out dir
  out="$(binary_path "${component}")"
  dir="${out%/*}"
  local stamp_file="${dir}/.stamp"
  local tags
  tags="$(tags_for "${component}")"
  local want_stamp="recipe=${recipe} ${module}@${version} ${outs[*]}${tags:+ tags=${tags}}"
  if [[ -x "${out}" && -f "${stamp_file}" && "$(cat "${stamp_file}")" == "${want_stamp}" ]] &&
    [[ "${component}" != kwok || -f "${dir}/stages.yaml" ]]; then
    echo "${component}: ${out} (cached)"
    return
  fi

  local start=${SECONDS} src
  if [[ "${component}" == pause ]]; then
    src="${here}/pause" # our own module, in the repo
  else
    src="$(prepare_module "${module}" "${version}")"
    # go get (once per wrapper) every package of this module that build.sh knows, so go.mod/go.sum
    # list all they need; a package added to build.sh later is fetched into the same wrapper.
    local pkgs=() c o missing=()
    for c in "${all_components[@]}"; do
      [[ "${c}" == pause ]] && continue
      local m v
      read -r m v <<<"$(spec "${c}" | cut -d' ' -f1,2)"
      [[ "${m}" == "${module}" ]] || continue
      for o in $(spec "${c}" | cut -d' ' -f3-); do pkgs+=("${o#*=}@${version}"); done
    done
    touch "${src}/.packages"
    for o in "${pkgs[@]}"; do grep -qxF "${o}" "${src}/.packages" || missing+=("${o}"); done
    if ((${#missing[@]})); then
      log "go get ${missing[*]} (in ${src})"
      (cd "${src}" && go get "${missing[@]}") || die "go get failed for ${module}@${version}"
      printf '%s\n' "${missing[@]}" >>"${src}/.packages"
      rm -f "${src}/.ready.pending"
      touch "${src}/.ready"
    fi
  fi

  local ldflags
  if [[ "${component}" == pause ]]; then ldflags="-s -w"; else
    ldflags="$(ldflags_for "${component}" "${module}" "${version}" "${src}")"
  fi
  mkdir -p "${dir}"
  local pair name pkg
  for pair in "${outs[@]}"; do
    name="${pair%%=*}"
    pkg="${pair#*=}"
    log "building ${name} (${pkg}@${version}) -> ${dir}/${name}"
    (cd "${src}" && go build -trimpath ${tags:+-tags "${tags}"} -ldflags "${ldflags}" -o "${dir}/${name}.tmp" "${pkg}") ||
      die "go build ${pkg} failed"
    mv -f "${dir}/${name}.tmp" "${dir}/${name}"
  done
  if [[ "${component}" == kwok ]]; then
    write_kwok_stages "$(cd "${src}" && go list -m -f '{{.Dir}}' "${module}")" >"${dir}/stages.yaml.tmp"
    mv -f "${dir}/stages.yaml.tmp" "${dir}/stages.yaml"
  fi
  echo "${want_stamp}" >"${stamp_file}"
  echo "${component}: ${out} (built in $((SECONDS - start))s)"
}

main() {
  local print_only=0
  if [[ "${1:-}" == --print ]]; then
    print_only=1
    shift
  fi
  if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
    sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    return
  fi
  local components=() c
  (($# == 0)) && set -- "${all_components[@]}"
  for c in "$@"; do
    case "${c}" in
    kubernetes) components+=(kube-apiserver kube-controller-manager kube-scheduler) ;;
    node) components+=("${node_components[@]}") ;;
    *)
      [[ " ${all_components[*]} " == *" ${c} "* ]] || die "unknown component '${c}' (known: ${all_components[*]} kubernetes node)"
      components+=("${c}")
      ;;
    esac
  done

  if ((print_only)); then
    local missing=0
    for c in "${components[@]}"; do
      local p
      p="$(binary_path "${c}")"
      if [[ -x "${p}" ]]; then echo "${c}: ${p}"; else
        echo "${c}: ${p} (not built)"
        missing=1
      fi
    done
    return "${missing}"
  fi

  command -v go >/dev/null || die "go is not installed (need the Go toolchain, go1.26+)"
  mkdir -p "${cache_root}"
  # One build at a time per cache (two test sessions starting at once must not race on it).
  exec 9>"${cache_root}/.build.lock"
  flock 9
  for c in "${components[@]}"; do
    build_one "${c}"
  done
}

main "$@"; exit
