#!/usr/bin/env bash
# The whole test suite: installs dependencies and the binaries (install.sh), builds the solution and runs every
# test project. Ends with exactly one summary line "<N> passed, <M> failed[, <K> skipped]"; exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ./scripts/install.sh; then
    echo "test.sh: scripts/install.sh failed; no test ran"
    echo "0 passed, 1 failed"
    exit 1
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# The integration tests start this build of mockerd/mocker (see DaemonFixture).
export MOCKER_BIN_DIR="$PWD/artifacts/bin"
results="$PWD/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

set +e
dotnet build Mocker.slnx -c Release -nologo
build_rc=$?
test_rc=0
if [ "$build_rc" -eq 0 ]; then
    # One project at a time: each gets its own TRX file, and the 2-core machines are not oversubscribed.
    for project in tests/*/*.csproj; do
        name=$(basename "$project" .csproj)
        dotnet test "$project" -c Release --no-build -nologo \
            --logger "console;verbosity=normal" --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
            -- RunConfiguration.TestSessionTimeout=2100000
        rc_one=$?
        [ "$rc_one" -eq 0 ] || test_rc=$rc_one
    done
fi
set -e

# Sum the counters of every TRX file (one per test project).
passed=0 failed=0 skipped=0
shopt -s nullglob
for trx in "$results"/*.trx; do
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
    attr() { local v; v=$(printf '%s' "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"); echo "${v:-0}"; }
    passed=$((passed + $(attr passed)))
    failed=$((failed + $(attr failed) + $(attr error) + $(attr timeout) + $(attr aborted)))
    skipped=$((skipped + $(attr notExecuted)))
done

rc=0
if [ "$build_rc" -ne 0 ]; then
    echo "test.sh: the build failed (exit $build_rc)"
    failed=$((failed + 1))
    rc=$build_rc
elif [ "$test_rc" -ne 0 ]; then
    rc=$test_rc
    if [ "$failed" -eq 0 ]; then
        echo "test.sh: dotnet test exited $test_rc without a failed test (crashed or aborted test host)"
        failed=1
    fi
elif [ "$failed" -ne 0 ]; then
    rc=1
fi

if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
exit "$rc"
