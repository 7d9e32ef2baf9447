#!/usr/bin/env bash
# Runs `kneron-quant sweep` on the four test models (KL720, their configs in
# tests/data/models) and prints one Markdown table row per model and mode:
# the minimum output SNR, the estimated FPS and the share of Conv MACs at
# 16 bit. Used to write docs/modes.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache=$("$root/scripts/fetch-test-models.sh")
dotnet build "$root/src/Kneron.Quantization.Cli" -c Release -v quiet -nologo >/dev/null
cli="$root/src/Kneron.Quantization.Cli/bin/Release/net10.0/kneron-quant.dll"
out=$(mktemp -d)

echo "| model | mode (datapath/weight) | min SNR (dB) | FPS (estimate) | kept by auto |"
echo "|---|---|---|---|---|"
for model in blazeface_front mlsd_tiny ppocr_det ppocr_cls; do
  start=$(date +%s.%N)
  dotnet "$cli" sweep "$cache/$model.onnx" --config "$root/tests/data/models/$model.quant.yaml" \
    --output "$out" --set on_low_snr=warning >"$out/$model.log" 2>&1 || true
  end=$(date +%s.%N)
  python3 - "$out/$model.quant.json" "$out/$model.failed.html" "$model" <<'PY'
import json, os, sys
path, failed, model = sys.argv[1], sys.argv[2], sys.argv[3]
if not os.path.exists(path):
    print(f"| {model} | (no result, see the log) | | | |")
    sys.exit(0)
j = json.load(open(path))
for m in j["modes_tried"]:
    snr = "+∞" if m["snr_db"] is None else f"{m['snr_db']:.2f}"
    fps = "" if m.get("fps") is None else f"{m['fps']:.0f}"
    print(f"| {model} | {m['datapath_bitwidth_mode']}/{m['weight_bitwidth_mode']} | {snr} | {fps} | {'yes' if m['chosen'] else ''} |")
PY
  echo "<!-- $model sweep: $(python3 -c "print(round($end - $start, 1))") s -->"
done
rm -rf "$out"
