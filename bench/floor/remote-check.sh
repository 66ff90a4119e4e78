# Runs on a lab host as root (fed to `sudo sh -s` by warm.sh). Reads the whole end state
# of playbooks/docker-host.yml with the lab's variables and prints "DIFF what" for every
# part that is not as wanted; "converged" when nothing differs.
# $1: the pinned docker_gpg_fingerprint (upper-case hex, from the lab's .lab/vars.yml).
PROXY=http://10.200.0.1:3128
KEYFILE=/etc/pki/rpm-gpg/RPM-GPG-KEY-docker-ce
FINGERPRINT=${1:-}
diffs=0
bad() { echo "DIFF $*"; diffs=$((diffs + 1)); }
# the primary key fingerprints of the OpenPGP keys on stdin, one a line (gpg, throwaway home)
gpghome=$(mktemp -d)
primary_fingerprints() {
    gpg --homedir "$gpghome" --show-keys --with-colons 2>/dev/null |
        awk -F: '$1 == "pub" || $1 == "sec" { p = 1; next } $1 == "fpr" && p { print $10; p = 0 }'
}

grep -qx "proxy=$PROXY" /etc/dnf/dnf.conf || bad dnf proxy
! grep -Eq '^\s*proxy_(username|password)\s*=' /etc/dnf/dnf.conf || bad dnf proxy credentials
dnf -q check-update >/dev/null 2>&1
rc=$?
[ $rc = 0 ] || bad "updates pending (dnf check-update exit $rc)"
[ "$(systemctl is-active firewalld)" = active ] || bad firewalld
case "$(getenforce)" in Enforcing | Permissive | Disabled) ;; *) bad selinux ;; esac
[ "$(sysctl -n net.ipv4.ip_forward)" = 1 ] || bad ip_forward live
grep -Eqx 'net\.ipv4\.ip_forward ?= ?1' /etc/sysctl.d/99-docker.conf 2>/dev/null || bad ip_forward file
installed=$(rpm -qa --qf '%{NAME}\n')
for name in podman podman-docker runc buildah docker docker-client docker-client-latest \
    docker-common docker-latest docker-latest-logrotate docker-logrotate docker-engine; do
    ! printf '%s\n' "$installed" | grep -qx "$name" || bad "package $name installed"
done
for name in dnf-plugins-core docker-ce docker-ce-cli containerd.io docker-buildx-plugin \
    docker-compose-plugin; do
    printf '%s\n' "$installed" | grep -qx "$name" || bad "package $name missing"
done
[ "$(primary_fingerprints <"$KEYFILE")" = "$FINGERPRINT" ] || bad gpg key file content
[ "$(stat -c '%a %U %G' "$KEYFILE" 2>/dev/null)" = "644 root root" ] || bad gpg key file mode
for name in $(rpm -qa gpg-pubkey); do
    rpm -q --qf '%{DESCRIPTION}' "$name" | primary_fingerprints
done | grep -qx "$FINGERPRINT" || bad gpg key not imported
rm -rf "$gpghome"
[ -f /etc/yum.repos.d/docker-ce.repo ] || bad repo file
grep -q '^gpgkey=' /etc/yum.repos.d/docker-ce.repo &&
    ! grep '^gpgkey=' /etc/yum.repos.d/docker-ce.repo | grep -vqx "gpgkey=file://$KEYFILE" ||
    bad repo gpgkey
getent group docker >/dev/null || bad group docker
for dir in /etc/docker /etc/systemd/system/docker.service.d; do
    [ "$(stat -c '%a %U %G' $dir 2>/dev/null)" = "755 root root" ] || bad "dir $dir"
done
[ "$(stat -c '%a' /etc/docker/daemon.json 2>/dev/null)" = 644 ] || bad daemon.json mode
printf '%s\n' '{' '  "log-driver": "json-file",' '  "log-opts": {' '    "max-file": "3",' \
    '    "max-size": "10m"' '  },' '  "storage-driver": "overlay2"' '}' |
    cmp -s - /etc/docker/daemon.json || bad daemon.json content
printf '%s\n' '# Managed by provision (role docker_engine): proxy for the Docker engine.' \
    '[Service]' \
    "Environment=\"HTTP_PROXY=$PROXY\" \"HTTPS_PROXY=$PROXY\" \"NO_PROXY=localhost,127.0.0.1\"" |
    cmp -s - /etc/systemd/system/docker.service.d/http-proxy.conf || bad drop-in content
[ "$(systemctl is-enabled docker 2>/dev/null)" = enabled ] || bad docker not enabled
[ "$(systemctl is-active docker)" = active ] || bad docker not active
info=$(docker info --format '{{.ServerVersion}} {{.Driver}}' 2>/dev/null)
[ -n "${info% *}" ] && [ "${info#* }" = overlay2 ] || bad "docker info: '$info'"
[ $diffs = 0 ] && echo converged
exit 0
