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

# The runs leave no trace in git: `git status --porcelain` after is what it was before
# (empty in a fresh clone). Call git_status_snapshot before the run, git_status_check after:
# it prints each file the run changed or left behind and returns 1 (0 outside a git tree).
git_status_snapshot() {
    GIT_STATUS_BEFORE=""
    git rev-parse --is-inside-work-tree >/dev/null 2>&1 || return 0
    GIT_STATUS_BEFORE=$(git status --porcelain --untracked-files=all)
}

git_status_check() {
    git rev-parse --is-inside-work-tree >/dev/null 2>&1 || {
        echo "== git status: not a git checkout, not checked"
        return 0
    }
    local after new
    after=$(git status --porcelain --untracked-files=all)
    if [ -z "$after" ]; then
        echo "== git status: clean"
        return 0
    fi
    # a tree edited before the run: only what the run added counts
    new=$(comm -13 <(printf '%s\n' "$GIT_STATUS_BEFORE" | sort) <(printf '%s\n' "$after" | sort))
    if [ -z "$new" ]; then
        echo "== git status: nothing new (the tree was not clean before the run)"
        return 0
    fi
    echo "== git status: the run changed or left files that git sees (they belong in .gitignore," >&2
    echo "   or the code must not write them):" >&2
    printf '%s\n' "$new" | sed 's/^/   /' >&2
    return 1
}
