# Shared by scripts/demo.sh and scripts/test.sh: install what is missing,
# configure and build. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Debian packages the build needs. Only the missing ones are installed.
BUILD_PACKAGES=(
  cmake ninja-build g++ ccache pkg-config
  libboost1.81-all-dev libboost-json1.81-dev libboost-url1.81-dev
  libyaml-cpp-dev libssl-dev prometheus-cpp-dev libcli11-dev catch2
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_packages() {
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if ((${#missing[@]})); then
    log "installing missing Debian packages: ${missing[*]}"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# ensure_tool COMMAND PACKAGE...: installs PACKAGE(s) only when COMMAND is not
# already on PATH. Node.js and npm often come from outside Debian (with npm
# bundled), and Debian's npm package conflicts with such an install.
ensure_tool() {
  local cmd="$1"; shift
  if ! command -v "$cmd" >/dev/null 2>&1; then
    ensure_packages "$@"
  fi
}

# build PRESET [TARGET...]
build() {
  local preset="$1"; shift
  log "configuring (preset $preset)"
  cmake --preset "$preset" >/dev/null
  log "building (preset $preset)"
  if (($#)); then
    cmake --build --preset "$preset" --target "$@"
  else
    cmake --build --preset "$preset"
  fi
}
