#!/usr/bin/env bash
# Installs everything Mocker needs on Debian 12 and publishes mockerd and mocker (ReadyToRun) into
# ./artifacts/bin/{mockerd,mocker}/, linked from /usr/local/bin. Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (sudo ./scripts/install.sh)" >&2
    exit 1
fi

if ! command -v dotnet >/dev/null 2>&1; then
    echo "install.sh: the .NET 10 SDK is missing ('dotnet' is not on PATH); install dotnet-sdk-10.0 first" >&2
    exit 1
fi
sdk=$(dotnet --version)
case "$sdk" in
    10.*) ;;
    *) echo "install.sh: .NET 10 SDK required, found $sdk" >&2; exit 1 ;;
esac

# Runtime dependencies: runc (OCI runtime), conmon (per-container monitor), busybox-static (image bootstrap),
# iptables (port publishing), tini (init), ca-certificates.
packages=(runc conmon busybox-static iptables tini ca-certificates docker-registry apache2-utils openssl)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The test suite drives the docker CLI against mockerd; Debian 12 ships it only inside docker.io.
if ! command -v docker >/dev/null 2>&1; then
    missing+=(docker.io)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
for app in Daemon:mockerd Cli:mocker; do
    project=${app%%:*}
    name=${app##*:}
    dotnet publish "src/Mocker.$project/Mocker.$project.csproj" -c Release -r linux-x64 --self-contained false \
        -p:PublishReadyToRun=true -o "artifacts/bin/$name" -nologo -v quiet
    ln -sfn "$repo/artifacts/bin/$name/$name" "/usr/local/bin/$name"
done

mkdir -p /etc/mocker /var/log/mocker
echo "install.sh: mockerd and mocker installed ($(readlink -f /usr/local/bin/mockerd), $(readlink -f /usr/local/bin/mocker))"
