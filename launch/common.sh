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

install_dependencies() {
    local missing=()
    for package in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them (Debian/Ubuntu expected)"
        log "installing ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
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

# One rank per core; each rank runs OpenBLAS on one thread; mpirun may run as root (containers,
# CI); ob1 starts faster on one machine. Anything already set by the user is kept.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
# OpenBLAS picks its kernels by CPU model at load time; a model newer than the library (Debian 12's
# 0.3.21 on recent Xeons) falls back to the generic "Prescott" kernels, 3-30x slower for sgemm.
# Choose by instruction set instead, unless the user chose: the flags the kernels need are what matters.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
    flags="$(grep -m1 '^flags' /proc/cpuinfo)"
    case " $flags " in
        *" avx512f "*" avx512vl "*|*" avx512vl "*" avx512f "*) export OPENBLAS_CORETYPE=SkylakeX ;;
        *" avx2 "*) export OPENBLAS_CORETYPE=Haswell ;;
    esac
    unset flags
fi
export OMPI_MCA_pml="${OMPI_MCA_pml:-ob1}"
if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# The environment every rank needs, as mpirun -x options (remote hosts do not inherit it).
rank_environment() {
    local names=(OPENBLAS_NUM_THREADS OMPI_MCA_pml)
    [ -n "${OPENBLAS_CORETYPE:-}" ] && names+=(OPENBLAS_CORETYPE)
    local name
    for name in "${names[@]}"; do printf -- '-x\n%s\n' "$name"; done
}

cores() { nproc 2>/dev/null || getconf _NPROCESSORS_ONLN; }
