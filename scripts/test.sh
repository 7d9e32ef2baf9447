#!/usr/bin/env bash
# Runs every test suite: fetches the test models, builds the solution once,
# packs the NuGet packages for the dotnet-build tests, then runs the test
# projects in parallel and prints one closing line "N passed, N failed, N skipped"
# with the totals of all of them. Exits non-zero when a test failed or a
# suite did not run.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

echo "== Fetching test models"
scripts/fetch-test-models.sh || { echo "0 passed, 1 failed"; exit 1; }

echo "== Building"
dotnet build Kneron.Build.sln -c Release -nodeReuse:false -v minimal || { echo "0 passed, 1 failed"; exit 1; }

if [[ -d tests/Kneron.Build.Tests ]]; then
  echo "== Packing"
  rm -rf artifacts/packages
  dotnet pack Kneron.Build.sln -c Release --no-build -o artifacts/packages -nodeReuse:false -v minimal || { echo "0 passed, 1 failed"; exit 1; }
fi

# Each suite runs in its own process. The dotnet-build suite spends most of its
# time in child builds, so the two overlap well on two cores.
pids=()
for project in tests/*/*.csproj; do
  name=$(basename "$project" .csproj)
  echo "== Testing $name (log: $results/$name.log)"
  dotnet test "$project" -c Release --no-build -nodeReuse:false >"$results/$name.log" 2>&1 &
  pids+=("$!")
done

status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done

passed=0 failed=0 skipped=0 suites=0
for log in "$results"/*.log; do
  # The VSTest summary line: "Passed!  - Failed:     0, Passed:   155, Skipped:     0, Total:   155, ..."
  line=$(grep -E '^(Passed|Failed)! +- Failed: ' "$log" | tail -n 1)
  if [[ -z "$line" ]]; then
    echo "== $(basename "$log" .log): no test summary; last lines:"
    tail -n 30 "$log"
    failed=$((failed + 1))
    status=1
    continue
  fi
  suites=$((suites + 1))
  echo "== $(basename "$log" .log): $line"
  grep -E '^\s+Failed ' "$log" | head -n 50
  f=$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$line")
  p=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$line")
  s=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done

echo "$passed passed, $failed failed, $skipped skipped"
[[ $status -eq 0 && $failed -eq 0 ]]
