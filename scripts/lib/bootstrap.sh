# Shared set-up for scripts/test and scripts/lab-demo: apt packages and the venv.
# Sourced, not run. Idempotent: a second call installs nothing.

# Debian packages the tests and the container lab need (see docs/lab.md).
PROVISION_APT_PACKAGES=(
    openssh-server openssh-client sudo python3-venv
    mmdebstrap systemd-container rpm createrepo-c gnupg iproute2 zstd curl
    vagrant
)

bootstrap_host_packages() {
    local missing=()
    local pkg
    for pkg in "${PROVISION_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" != 0 ]; then
            echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
            return 1
        fi
        echo "== apt-get install ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

bootstrap_venv() {
    if [ ! -x .venv/bin/python ]; then
        echo "== python3 -m venv .venv"
        python3 -m venv .venv
    fi
    local stamp=.venv/.provision-installed
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        echo "== pip install -e .[dev]"
        .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
        touch "$stamp"
    fi
}
