#!/usr/bin/env bash
# The cold floor: the workload's steps as a plain script on fresh hosts (no idempotence,
# no checks before acting), ONE ssh session per host, all hosts at once.
#   cold.sh FINGERPRINT KEY KNOWN_HOSTS USER ADDRESS...
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/ssh-all.sh" "$here/remote-steps.sh" "$@"
