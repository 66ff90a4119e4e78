# Runs on a fresh lab host as root (fed to `sudo sh -s` by cold.sh). The plain steps of
# playbooks/docker-host.yml with the lab's variables, in the roles' order.
# $1: the pinned docker_gpg_fingerprint (upper-case hex, from the lab's .lab/vars.yml).
set -eu
LAB=http://10.200.0.1:8080
PROXY=http://10.200.0.1:3128
GPGKEY=$LAB/docker-ce/linux/rhel/gpg
KEYFILE=/etc/pki/rpm-gpg/RPM-GPG-KEY-docker-ce
FINGERPRINT=$1

# dnf_proxy
echo "proxy=$PROXY" >>/etc/dnf/dnf.conf
# os_update
dnf -q -y upgrade
# security_baseline
[ "$(systemctl is-active firewalld)" = active ]
case "$(getenforce)" in Enforcing | Permissive | Disabled) ;; *) exit 1 ;; esac
# ip_forward
sysctl -q -w net.ipv4.ip_forward=1
echo "net.ipv4.ip_forward = 1" >/etc/sysctl.d/99-docker.conf
# container_cleanup (only what is installed under its own name)
remove=$(rpm -q --qf '%{NAME}\n' podman podman-docker runc buildah docker docker-client \
    docker-client-latest docker-common docker-latest docker-latest-logrotate \
    docker-logrotate docker-engine | grep -v ' ' || true)
[ -z "$remove" ] || dnf -q -y remove $remove
# docker_repo: the key through the proxy, exactly one public key with the pinned fingerprint
# (gpg in a throwaway home), kept in $KEYFILE and imported; then the repo points at it
tmp=$(mktemp -d)
curl -fsSL --proxy "$PROXY" -o "$tmp/key" "$GPGKEY"
gpg --homedir "$tmp" --show-keys --with-colons "$tmp/key" >"$tmp/list" 2>/dev/null
if [ "$(grep -c -e '^pub:' -e '^sec:' "$tmp/list")" != 1 ] || grep -q '^sec:' "$tmp/list" ||
    [ "$(awk -F: '$1 == "fpr" { print $10; exit }' "$tmp/list")" != "$FINGERPRINT" ]; then
    echo "refusing $GPGKEY: not exactly one public key with fingerprint $FINGERPRINT" >&2
    exit 1
fi
install -m 0644 -o root -g root "$tmp/key" "$KEYFILE"
rm -rf "$tmp"
rpm --import "$KEYFILE"
# (dnf-plugins-core is preinstalled on the lab; dnf install is a no-op)
dnf -q -y install dnf-plugins-core
dnf -q config-manager --add-repo "$LAB/docker-ce/linux/rhel/docker-ce.repo"
sed -i "s|^gpgkey=.*|gpgkey=file://$KEYFILE|" /etc/yum.repos.d/docker-ce.repo
# docker_engine
getent group docker >/dev/null || groupadd -r docker
mkdir -p -m 0755 /etc/docker /etc/systemd/system/docker.service.d
cat >/etc/docker/daemon.json <<'JSON'
{
  "log-driver": "json-file",
  "log-opts": {
    "max-file": "3",
    "max-size": "10m"
  },
  "storage-driver": "overlay2"
}
JSON
cat >/etc/systemd/system/docker.service.d/http-proxy.conf <<CONF
# Managed by provision (role docker_engine): proxy for the Docker engine.
[Service]
Environment="HTTP_PROXY=$PROXY" "HTTPS_PROXY=$PROXY" "NO_PROXY=localhost,127.0.0.1"
CONF
dnf -q -y install docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin
systemctl daemon-reload
systemctl enable --now --quiet docker
# docker_check
docker info --format '{{.ServerVersion}}' >/dev/null
[ "$(docker info --format '{{.Driver}}')" = overlay2 ]
echo converged
