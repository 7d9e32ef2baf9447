#!/usr/bin/env bash
# Builds and runs samples/FaceDetection against freshly packed packages:
# fetches BlazeFace into the test-model cache, copies it and two face images
# into the sample, packs Kneron.Build and Kneron.Build.Sdk into
# artifacts/packages, and runs `dotnet build` and `dotnet run` on the sample.
#
# The sample restores into artifacts/nuget-packages, not the user's NuGet
# cache: NuGet never re-extracts a version it already holds, and each pack
# produces the same version.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
sample="$repo/samples/FaceDetection"

cache=$("$repo/scripts/fetch-test-models.sh")
mkdir -p "$sample/models/images"
cp "$cache/blazeface_front.onnx" "$sample/models/face.onnx"
cp "$repo/tests/data/images/astronaut.png" "$repo/tests/data/images/grace_hopper.jpg" "$sample/models/images/"

dotnet pack "$repo/Kneron.Build.sln" -c Release -o "$repo/artifacts/packages" -nodeReuse:false

export NUGET_PACKAGES="$repo/artifacts/nuget-packages"
rm -rf "$NUGET_PACKAGES/kneron.build" "$NUGET_PACKAGES/kneron.build.sdk"
# Normal verbosity shows the analysis summary line; the full log is kept.
log="$repo/artifacts/sample-build.log"
status=0
dotnet build "$sample/FaceDetection.csproj" -nodeReuse:false -v:n -tl:off "$@" >"$log" 2>&1 || status=$?
grep -E ": (error|warning) |kneron-quant\.dll|SNR|Build succeeded|Build FAILED" "$log" || true
if [[ $status -ne 0 ]]; then
  echo "dotnet build of the sample failed with exit code $status; full log: $log" >&2
  exit "$status"
fi

dotnet run --project "$sample/FaceDetection.csproj" --no-build
