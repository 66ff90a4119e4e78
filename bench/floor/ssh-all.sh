#!/usr/bin/env bash
# Run one remote script as root on every host at once, ONE ssh session per host:
#   ssh-all.sh SCRIPT KEY KNOWN_HOSTS USER ADDRESS...
# Each host's output goes to stdout prefixed with its address; exit 1 if any host failed.
set -u
script=$1 key=$2 known_hosts=$3 user=$4
shift 4
pids=()
for address in "$@"; do
    ssh -i "$key" -o UserKnownHostsFile="$known_hosts" -o StrictHostKeyChecking=yes \
        -o BatchMode=yes -o ControlMaster=no -o ControlPath=none -o ConnectTimeout=10 \
        "$user@$address" 'sudo -n sh -s' <"$script" 2>&1 | sed "s/^/$address: /" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
exit $status
