#!/usr/bin/env bash
# The main job: starts mockerd (unless it already answers), bootstraps a busybox image from the host's
# busybox-static, builds examples/hello and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "demo.sh: run as root (sudo ./scripts/demo.sh)" >&2
    exit 1
fi
command -v mockerd >/dev/null && command -v mocker >/dev/null || {
    echo "demo.sh: mockerd/mocker not installed; run ./scripts/install.sh first" >&2
    exit 1
}

log=/var/log/mocker/mockerd.log
mkdir -p "$(dirname "$log")"
if ! mocker version >/dev/null 2>&1; then
    echo "demo.sh: starting mockerd (log: $log)"
    nohup mockerd >>"$log" 2>&1 </dev/null &
    daemon_pid=$!
    # Bounded readiness loop: at most 30 s for the socket to answer.
    ready=0
    for _ in $(seq 1 300); do
        if mocker version >/dev/null 2>&1; then ready=1; break; fi
        if ! kill -0 "$daemon_pid" 2>/dev/null; then
            echo "demo.sh: mockerd exited during start-up; last log lines:" >&2
            tail -n 40 "$log" >&2
            exit 1
        fi
        sleep 0.1
    done
    if [ "$ready" -ne 1 ]; then
        echo "demo.sh: mockerd did not answer within 30 s; last log lines:" >&2
        tail -n 40 "$log" >&2
        exit 1
    fi
fi

set -x
mocker version
mocker image bootstrap busybox
mocker build -t hello examples/hello
mocker run --rm hello
