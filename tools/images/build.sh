#!/usr/bin/env bash
# Builds Drawnet's images without a Docker engine, from images/<name>/Dockerfile as written:
#
#   tools/images/build.sh [--rebuild] [base|<image> ...]   build what is missing (default: every image)
#   tools/images/build.sh --print [<image> ...]            print "<name> <image-ref> <tarball>" per image;
#                                                          exit 1 if one is not built for its current inputs
#
# Images: room, drawing, operator (and any other images/<name>/Dockerfile), and pause.
#
# base      The Dockerfiles' base images, made by mmdebstrap from Debian's packages and this machine's
#           configured Debian mirror, imported into buildah's storage and passed as build arguments:
#           PYTHON_IMAGE  localhost/drawnet-python:3.11-bookworm-<recipe digest>: Debian's Essential set,
#                         Python 3.11 and the Debian packages the three images need; no apt.
#           DEBIAN_IMAGE  localhost/drawnet-debian:bookworm-<recipe digest> (only for a Dockerfile that
#                         declares it): minbase with apt, reading this machine's mirror.
#           Each is cached by the digest of its recipe (packages, mmdebstrap options, suite).
# <image>   `buildah build --layers` of images/<name>/Dockerfile from the repository root, tagged
#           drawnet.local/<name>:<digest of the Dockerfile, the build context (as .dockerignore filters it)
#           and the bases>: an unchanged image keeps its tag and is not built again. pip inside a build uses
#           this machine's pip configuration (index, CA bundle), passed as build secrets.
# pause     tools/images/pause.Dockerfile: FROM scratch, the static program `tools/k8s/build.sh pause`
#           builds, as /pause (the real node's sandbox image).
#
# Each image is written as a docker-archive, its name in the archive's RepoTags, to
#   ${DRAWNET_CACHE:-$HOME/.cache/drawnet}/images/<name>-<tag>.tar
# for `ctr -n k8s.io images import <tar>` (the name comes with it). --rebuild builds again without any
# cache (new bases pick up Debian's latest security updates). buildah's layer cache stays in its storage
# (/var/lib/containers/storage); `buildah rmi --prune` gives the space back.
# amd64 only: the room's socketify ships its library for x86-64 alone; the Dockerfiles stop anywhere else.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
cache_root="${DRAWNET_CACHE:-${HOME}/.cache/drawnet}/images"
registry=drawnet.local

log() { printf '[images] %s\n' "$*" >&2; }
die() {
  printf '[images] error: %s\n' "$*" >&2
  exit 1
}
elapsed() { printf '%d s' "$((SECONDS - $1))"; }
megabytes() { echo "$(($(stat -c %s "$1") / 1000000)) MB"; }

# Every images/<name>/Dockerfile (the platform's three first), then pause.
discover_images() {
  local found=(room drawing operator) dockerfile name
  for dockerfile in "${root}"/images/*/Dockerfile; do
    name="$(basename "$(dirname "${dockerfile}")")"
    [[ " ${found[*]} " == *" ${name} "* ]] || found+=("${name}")
  done
  echo "${found[@]}" pause
}
read -r -a all_images <<<"$(discover_images)"

# ------------------------------------------------------------------------------------------------ bases
# A base's recipe is everything that decides what it holds; its digest names it.
suite=bookworm
no_gl_drivers="${root}/images/drawing/no-gl-drivers"
# python3-venv: the Dockerfiles' build stages make virtualenvs (with pip) from it. ca-certificates: TLS for
# the components' clients. libstdc++6: skia-python and numpy. libuv1: the room (socketify links it).
# libgl1, libegl1, fonts-dejavu-core, fontconfig-config: the drawing service (skia-python links libGL and
# libEGL; the fonts give exports real glyphs, and fontconfig's configuration lets skia find them), with
# images/drawing/no-gl-drivers standing in for Mesa's drivers. The Dockerfiles install a missing Debian
# package with apt; this base misses none, and has no apt.
python_packages=(python3 python3-venv ca-certificates libstdc++6 libuv1 libgl1 libegl1 fonts-dejavu-core
  fontconfig-config)
common_options=(
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr # merged /usr without usrmerge (and its perl)
  --aptopt='Acquire::Languages "none"'
  --aptopt='APT::Install-Recommends "false"'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
  --dpkgopt='path-exclude=/usr/share/linda/*'
)
python_options=(
  --variant=essential # Debian's Essential packages (sh, coreutils, dpkg) and the ones named: no apt
  --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount # installs the local .deb
  # The mirror's address stays out of the image (there is no apt to read it).
  --customize-hook='rm -f "$1/etc/apt/sources.list"'
)
# As Debian's own container images: no package caches kept after apt runs.
apt_clean='Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";'
apt_clean+=' DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };'
debian_options=(
  --variant=minbase # with apt, which reads this machine's mirror (kept in /etc/apt/sources.list)
  --customize-hook="echo '${apt_clean}' > \"\$1/etc/apt/apt.conf.d/docker-clean\""
  --customize-hook='rm -f "$1"/var/cache/apt/*.bin'
)

base_recipe() {
  if [[ "$1" == python ]]; then
    printf 'suite=%s\npackages=%s\noptions=%s %s\n' "${suite}" "${python_packages[*]}" \
      "${common_options[*]}" "${python_options[*]}"
    cat "${no_gl_drivers}/DEBIAN/control"
  else
    printf 'suite=%s\noptions=%s %s\n' "${suite}" "${common_options[*]}" "${debian_options[*]}"
  fi
}
base_digest() { base_recipe "$1" | sha256sum | cut -c1-16; }
base_repo() { if [[ "$1" == python ]]; then echo localhost/drawnet-python; else echo localhost/drawnet-debian; fi; }
base_tag_prefix() { if [[ "$1" == python ]]; then echo "3.11-${suite}"; else echo "${suite}"; fi; }
base_ref() { echo "$(base_repo "$1"):$(base_tag_prefix "$1")-$(base_digest "$1")"; }
base_tar() { echo "${cache_root}/base/$1-$(base_tag_prefix "$1")-$(base_digest "$1").tar"; }
base_sha() {
  local sha_file
  sha_file="$(base_tar "$1").sha256"
  [[ -f "${sha_file}" ]] || return 1
  cat "${sha_file}"
}
base_arg() { if [[ "$1" == python ]]; then echo PYTHON_IMAGE; else echo DEBIAN_IMAGE; fi; }

# This machine's Debian sources for the suite, as apt resolves them (one-line format for mmdebstrap).
debian_sources() {
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' |
    awk -v suite="${suite}" '$2 == suite || $2 == suite "-updates" || $2 == suite "-security" {
      print "deb " $1 " " $2 " " $3 }' | sort -u
}

build_base() {
  local kind="$1" begin=${SECONDS} how="imported" ref tar
  ref="$(base_ref "${kind}")"
  tar="$(base_tar "${kind}")"
  if [[ -f "${tar}" && -f "${tar}.sha256" && -z "${rebuild}" ]]; then
    if buildah inspect --type image "${ref}" >/dev/null 2>&1; then
      printf '%-9s %s  %s  %s  (cached)\n' "base" "${ref}" "${tar}" "$(megabytes "${tar}")"
      return
    fi
    how="imported again from its tarball"
  else
    command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (Debian: apt-get install mmdebstrap)"
    local sources work options
    sources="$(debian_sources)"
    [[ -n "${sources}" ]] || die "this machine's apt has no ${suite} sources (apt-get indextargets lists none)"
    work="$(mktemp -d)"
    cleanup_dirs+=("${work}")
    options=("${common_options[@]}")
    local variant="${python_options[0]}"
    if [[ "${kind}" == debian ]]; then variant="${debian_options[0]}"; fi
    if [[ "${kind}" == python ]]; then
      dpkg-deb --root-owner-group --build "${no_gl_drivers}" "${work}/drawnet-no-gl-drivers.deb" >/dev/null
      options+=("${python_options[@]}" --include="$(
        IFS=,
        echo "${python_packages[*]}"
      )" --include="${work}/drawnet-no-gl-drivers.deb")
    else
      options+=("${debian_options[@]}")
    fi
    log "base (${kind}): mmdebstrap ${variant} ${suite}, from this machine's Debian mirror"
    mkdir -p "${tar%/*}" "${cache_root}/logs"
    # SOURCE_DATE_EPOCH would clamp the files' times, and Debian's byte code (compiled by the packages'
    # postinst) records them: with it, Python would find every standard-library .pyc stale.
    if ! env -u SOURCE_DATE_EPOCH mmdebstrap "${options[@]}" --format=tar "${suite}" "${tar}.tmp" - \
      <<<"${sources}" >"${cache_root}/logs/base-${kind}.log" 2>&1; then
      tail -n 30 "${cache_root}/logs/base-${kind}.log" >&2
      die "mmdebstrap failed (the whole log: ${cache_root}/logs/base-${kind}.log)"
    fi
    sha256sum "${tar}.tmp" | cut -d' ' -f1 >"${tar}.sha256"
    mv "${tar}.tmp" "${tar}"
    find "${tar%/*}" -maxdepth 1 -name "${kind}-*" ! -name "${tar##*/}*" -delete
    how="mmdebstrap $(elapsed "${begin}"), then imported"
  fi
  local ctr what
  what="mmdebstrap ${suite} ${kind}$([[ "${kind}" != python ]] || echo ": ${python_packages[*]}")"
  ctr="$(buildah from --quiet scratch)"
  buildah add --quiet "${ctr}" "${tar}" / >/dev/null
  buildah config --created-by "${what}" --label "org.opencontainers.image.description=${what}" \
    --env LANG=C.UTF-8 --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd "$([[ "${kind}" == python ]] && echo '["python3"]' || echo '["bash"]')" "${ctr}"
  buildah commit --quiet --rm "${ctr}" "${ref}" >/dev/null
  buildah tag "${ref}" "$(base_repo "${kind}"):$(base_tag_prefix "${kind}")"
  remove_other_tags "$(base_repo "${kind}")" "$(base_tag_prefix "${kind}")-" "${ref}"
  printf '%-9s %s  %s  %s  (built in %s: %s)\n' "base" "${ref}" "${tar}" "$(megabytes "${tar}")" \
    "$(elapsed "${begin}")" "${how}"
}

# Untags this script's older images of a repository (tags: prefix + 16 hex digits); the layer cache stays.
remove_other_tags() {
  local repo="$1" prefix="$2" keep="$3" old
  while read -r old; do
    if [[ "${old}" == "${repo}:${prefix}"* && "${old#"${repo}:${prefix}"}" =~ ^[0-9a-f]{16}$ && "${old}" != "${keep}" ]]; then
      buildah rmi "${old}" >/dev/null 2>&1 || true
    fi
  done < <(buildah images --format '{{.Name}}:{{.Tag}}' 2>/dev/null)
}

# ---------------------------------------------------------------------------------------------- images
dockerfile_of() {
  if [[ "$1" == pause ]]; then echo "${here}/pause.Dockerfile"; else echo "${root}/images/$1/Dockerfile"; fi
}

# The bases a Dockerfile asks for (python, debian): the build arguments it declares.
bases_of() {
  local dockerfile
  dockerfile="$(dockerfile_of "$1")"
  grep -q -E '^ARG PYTHON_IMAGE(=|$)' "${dockerfile}" && echo python
  grep -q -E '^ARG DEBIAN_IMAGE(=|$)' "${dockerfile}" && echo debian
  return 0
}

pause_binary() {
  local line
  line="$("${root}/tools/k8s/build.sh" --print pause 2>/dev/null)" || return 1
  awk '{print $2}' <<<"${line}"
}

# name -> its build context directory (pause: a directory holding only the program)
context_of() {
  if [[ "$1" == pause ]]; then
    local binary dir="${cache_root}/pause-context"
    binary="$(pause_binary)" || return 1
    mkdir -p "${dir}"
    if ! cmp -s "${binary}" "${dir}/pause"; then
      cp "${binary}" "${dir}/pause.tmp"
      mv "${dir}/pause.tmp" "${dir}/pause"
    fi
    echo "${dir}"
  else
    echo "${root}"
  fi
}

# name -> tag: a digest of the Dockerfile, the build context as .dockerignore filters it, and the bases
image_tag() {
  local name="$1" context kind sha extras=()
  context="$(context_of "${name}")" || return 1
  for kind in $(bases_of "${name}"); do
    sha="$(base_sha "${kind}")" || return 1
    extras+=("${kind}=${sha}")
  done
  python3 "${here}/context.py" "$(dockerfile_of "${name}")" "${context}" "${extras[@]}" | cut -c1-16
}

tarball_of() { echo "${cache_root}/$1-$2.tar"; }

# pip's configuration on this machine, for the builds: index, extra indexes, trusted hosts, proxy, timeout
# and the CA bundle pip trusts (a build's own pip would trust only the bundle it ships).
pip_setting() {
  local env_name
  env_name="PIP_$(tr 'a-z-' 'A-Z_' <<<"$1")"
  if [[ -n "${!env_name:-}" ]]; then
    echo "${!env_name}"
  else
    python3 -m pip config get "global.$1" 2>/dev/null || true
  fi
}
write_pip_secrets() {
  local dir="$1" key value ca
  : >"${dir}/pip-ca.pem"
  {
    echo "[global]"
    for key in index-url extra-index-url trusted-host proxy timeout; do
      value="$(pip_setting "${key}")"
      if [[ -n "${value}" ]]; then echo "${key} = ${value}"; fi
    done
    ca="$(pip_setting cert)"
    if [[ -z "${ca}" && -f /etc/ssl/certs/ca-certificates.crt ]]; then ca=/etc/ssl/certs/ca-certificates.crt; fi
    if [[ -n "${ca}" && -f "${ca}" ]]; then
      cp "${ca}" "${dir}/pip-ca.pem"
      echo "cert = /run/secrets/pip-ca.pem"
    fi
  } >"${dir}/pip.conf"
}

build_image() {
  local name="$1" tag ref tarball context start=${SECONDS} kind
  if [[ "${name}" == pause ]] && ! "${root}/tools/k8s/build.sh" pause >/dev/null; then
    log "pause: tools/k8s/build.sh pause failed"
    return 1
  fi
  context="$(context_of "${name}")" || return 1
  if ! tag="$(image_tag "${name}")"; then
    log "${name}: cannot compute its tag (are its bases built?)"
    return 1
  fi
  ref="${registry}/${name}:${tag}"
  tarball="$(tarball_of "${name}" "${tag}")"
  if [[ -f "${tarball}" && -z "${rebuild}" ]]; then
    printf '%-9s %s  %s  %s  (cached)\n' "${name}" "${ref}" "${tarball}" "$(megabytes "${tarball}")"
    return
  fi
  if [[ -z "${secrets}" ]]; then
    secrets="$(mktemp -d)"
    cleanup_dirs+=("${secrets}")
    write_pip_secrets "${secrets}"
  fi
  local build_log="${cache_root}/logs/${name}.log"
  mkdir -p "${cache_root}/logs"
  log "${name}: buildah build -f $(dockerfile_of "${name}") (log: ${build_log})"
  local args=(--layers --force-rm --pull=never --network host --format docker
    -f "$(dockerfile_of "${name}")" -t "${ref}"
    --secret "id=pip.conf,src=${secrets}/pip.conf" --secret "id=pip-ca.pem,src=${secrets}/pip-ca.pem")
  if [[ -n "${rebuild}" ]]; then args+=(--no-cache); fi
  for kind in $(bases_of "${name}"); do
    args+=(--build-arg "$(base_arg "${kind}")=$(base_ref "${kind}")")
  done
  if ! buildah build "${args[@]}" "${context}" >"${build_log}" 2>&1; then
    tail -n 40 "${build_log}" >&2
    log "${name}: buildah build failed (the whole log: ${build_log})"
    return 1
  fi
  local built=${SECONDS}
  # Which steps came from buildah's layer cache, and the dependency step (the RUN that reads
  # requirements.py): a code change must not repeat it.
  local steps cached deps_step
  steps="$(grep -c -E '^(\[[0-9]+/[0-9]+\] )?STEP [0-9]+/[0-9]+: ' "${build_log}" || true)"
  cached="$(grep -c '^--> Using cache' "${build_log}" || true)"
  deps_step="$(awk '/STEP [0-9]+\/[0-9]+: / { step = $0 }
    /^--> Using cache/ && step ~ /requirements\.py [a-z]/ { print "from the cache" }' "${build_log}" | head -n 1)"
  rm -f "${tarball}.tmp"
  buildah push --quiet "${ref}" "docker-archive:${tarball}.tmp:${ref}" >/dev/null
  mv "${tarball}.tmp" "${tarball}"
  # Only the current image of each name is kept: its tarball, and its tag in buildah's storage.
  find "${cache_root}" -maxdepth 1 -name "${name}-*.tar" ! -name "${tarball##*/}" -delete
  remove_other_tags "${registry}/${name}" "" "${ref}"
  local deps_note=""
  if grep -q 'requirements\.py [a-z]' "$(dockerfile_of "${name}")"; then
    deps_note=", dependency layer ${deps_step:-built}"
  fi
  printf '%-9s %s  %s  %s  (built in %s: %s of %s steps from the layer cache%s; archive %s)\n' \
    "${name}" "${ref}" "${tarball}" "$(megabytes "${tarball}")" "$((built - start)) s" "${cached}" \
    "${steps}" "${deps_note}" "$(elapsed "${built}")"
  python3 "${here}/layers.py" "${tarball}"
}

print_images() {
  local name tag missing=0
  for name in "$@"; do
    [[ "${name}" == base ]] && continue
    if tag="$(image_tag "${name}" 2>/dev/null)" && [[ -f "$(tarball_of "${name}" "${tag}")" ]]; then
      echo "${name} ${registry}/${name}:${tag} $(tarball_of "${name}" "${tag}")"
    else
      log "${name}: not built for its current inputs (tools/images/build.sh ${name})"
      missing=1
    fi
  done
  return "${missing}"
}

# -------------------------------------------------------------------------------------------------- main
rebuild=""
print=""
names=()
for arg in "$@"; do
  case "${arg}" in
  --print) print=1 ;;
  --rebuild) rebuild=1 ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *)
    [[ "${arg}" == base || " ${all_images[*]} " == *" ${arg} "* ]] ||
      die "unknown argument '${arg}' (images: base ${all_images[*]}; options: --print --rebuild)"
    names+=("${arg}")
    ;;
  esac
done
if [[ ${#names[@]} -eq 0 ]]; then names=("${all_images[@]}"); fi

if [[ -n "${print}" ]]; then
  print_images "${names[@]}"
  exit
fi

[[ "$(uname -m)" == x86_64 ]] ||
  die "Drawnet's images are amd64 only (socketify ships an x86-64 library alone); this machine is $(uname -m)"
command -v buildah >/dev/null || die "buildah is missing (Debian: apt-get install buildah)"
mkdir -p "${cache_root}"
exec 9>"${cache_root}/.lock"
if ! flock -n 9; then
  log "waiting for another tools/images/build.sh to finish"
  flock 9
fi
cleanup_dirs=()
secrets=""
trap 'rm -rf "${cleanup_dirs[@]}"' EXIT

run_start=${SECONDS}
declare -A bases=()
for name in "${names[@]}"; do
  if [[ "${name}" == base ]]; then
    bases[python]=1
  else
    for kind in $(bases_of "${name}"); do bases[${kind}]=1; done
  fi
done
for kind in python debian; do
  if [[ -n "${bases[${kind}]:-}" ]]; then build_base "${kind}"; fi
done
failed=()
for name in "${names[@]}"; do
  [[ "${name}" == base ]] && continue
  build_image "${name}" || failed+=("${name}")
done
log "done in $(elapsed "${run_start}")"
if [[ ${#failed[@]} -gt 0 ]]; then die "not built: ${failed[*]}"; fi
