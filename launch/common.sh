# Shared by launch/run and launch/test: install what is missing, build, and set the environment
# every rank needs. Sourced, not executed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$REPO/.build/release/batchaug-dist"

# Debian packages the project needs: Open MPI, OpenBLAS, zlib (gzip-compressed datasets),
# libjpeg-turbo (its libjpeg and TurboJPEG APIs) and libpng (the user's own photographs),
# pkg-config (SwiftPM finds the system libraries through it), the real Fashion-MNIST, and iproute2
# (ip, tc: launch/netns-cluster).
APT_PACKAGES=(libopenmpi-dev openmpi-bin libopenblas-dev zlib1g-dev libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev pkg-config
              dataset-fashion-mnist iproute2)

log() { printf '[launch] %s\n' "$*" >&2; }
die() { printf '[launch] error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root or sudo to install: $*"
    fi
}

# The Debian packages among PACKAGE… that are not installed, one a line.
missing_packages() {
    local package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || echo "$package"
    done
}

# Installs whichever of the Debian packages PACKAGE… are missing.
install_packages() {
    local missing
    mapfile -t missing < <(missing_packages "$@")
    if [ ${#missing[@]} -gt 0 ]; then
        command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them (Debian/Ubuntu expected)"
        log "installing ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

install_dependencies() {
    install_packages "${APT_PACKAGES[@]}"
    if ! command -v swift >/dev/null 2>&1; then
        [ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
    fi
    command -v swift >/dev/null 2>&1 || die "no Swift toolchain on PATH (Swift 6.x is needed: https://www.swift.org/install/)"
}

# Builds with `swift build -c release ARGS…`, showing only what is not a progress line.
build_release() {
    log "building (release)"
    (cd "$REPO" && swift build -c release "$@" 2>&1 | { grep -vE '^\[[0-9]+/[0-9]+\]' || true; } >&2) \
        || die "swift build failed"
}

# mpirun may run as root (containers, CI); ob1 starts faster on one machine. Anything already set by
# the user is kept. OpenBLAS's threads and kernels are the binary's own decision (it sets them
# and executes itself again where the environment differs: `batchaug-dist info` shows them), so
# plain `mpirun batchaug-dist …` computes what launch/run computes.
export OMPI_MCA_pml="${OMPI_MCA_pml:-ob1}"
# mpirun learns that it lost a host's daemon (a dead link, a host gone) from TCP keepalives on its
# control connections: Open MPI's defaults wait 300 s before the first probe and 9 x 20 s more.
# These end such a job about 16 s after the link dies (docs/SCALING.md, "Faults across hosts").
export OMPI_MCA_oob_tcp_keepalive_time="${OMPI_MCA_oob_tcp_keepalive_time:-10}"
export OMPI_MCA_oob_tcp_keepalive_intvl="${OMPI_MCA_oob_tcp_keepalive_intvl:-2}"
export OMPI_MCA_oob_tcp_keepalive_probes="${OMPI_MCA_oob_tcp_keepalive_probes:-3}"
if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# The environment every rank needs, as mpirun -x options (remote hosts do not inherit it).
rank_environment() {
    local names=(OMPI_MCA_pml)
    [ -n "${OPENBLAS_CORETYPE:-}" ] && names+=(OPENBLAS_CORETYPE)   # the user's own choice, passed on
    local name
    for name in "${names[@]}"; do printf -- '-x\n%s\n' "$name"; done
}

cores() { nproc 2>/dev/null || getconf _NPROCESSORS_ONLN; }

# The list of Open MPI parameter files that puts FILE first: mpirun, its daemons and the ranks read
# it before the user's list (OMPI_MCA_mca_base_param_files, if set) and Open MPI's own defaults
# (~/.openmpi/mca-params.conf and the system's file, which Debian uses to turn UCX off), so its
# values win while the defaults still apply where it is silent.
parameter_files_with() {
    local defaults
    defaults="$(env -u OMPI_MCA_mca_base_param_files ompi_info --parsable --param mca base --level 9 2>/dev/null \
        | sed -n 's/^mca:mca:base:param:mca_base_param_files:value://p')"
    echo "$1${OMPI_MCA_mca_base_param_files:+,$OMPI_MCA_mca_base_param_files}${defaults:+,$defaults}"
}
