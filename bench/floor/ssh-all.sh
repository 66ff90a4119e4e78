#!/usr/bin/env bash
# Run one remote script as root on every host at once, ONE ssh session per host:
#   ssh-all.sh SCRIPT FINGERPRINT KEY KNOWN_HOSTS USER ADDRESS[:PORT]...
# (a port: the benchmark's latency relay listens on 127.0.0.1, one port per host)
# FINGERPRINT (the pinned docker-ce key, 40 or 64 hex digits) is the script's $1.
# Each host's output goes to stdout prefixed with its address; exit 1 if any host failed.
set -u
script=$1 fingerprint=$2 key=$3 known_hosts=$4 user=$5
shift 5
if ! [[ $fingerprint =~ ^[0-9A-F]{40}([0-9A-F]{24})?$ ]]; then
    echo "ssh-all.sh: the fingerprint must be 40 or 64 upper-case hex digits" >&2
    exit 2
fi
pids=()
for target in "$@"; do
    address=${target%:*} port=22
    [ "$address" = "$target" ] || port=${target##*:}
    ssh -i "$key" -o UserKnownHostsFile="$known_hosts" -o StrictHostKeyChecking=yes \
        -o BatchMode=yes -o ControlMaster=no -o ControlPath=none -o ConnectTimeout=10 \
        -p "$port" "$user@$address" "sudo -n sh -s $fingerprint" <"$script" 2>&1 | sed "s/^/$target: /" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
exit $status
