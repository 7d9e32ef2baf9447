#!/usr/bin/env bash
# Measures the SNR of every output of the four test models in int8 and in
# int16 (all five bit-width keys) with their configs in tests/data/models,
# and prints a Markdown table. Used to write docs/snr.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache=$("$root/scripts/fetch-test-models.sh")
dotnet build "$root/src/Kneron.Quantization.Cli" -c Release -v quiet -nologo >/dev/null
cli="$root/src/Kneron.Quantization.Cli/bin/Release/net10.0/kneron-quant.dll"
out=$(mktemp -d)

echo "| model | output | evaluated tensor | int8 SNR (dB) | int16 SNR (dB) | int16 − int8 (dB) |"
echo "|---|---|---|---|---|---|"
for model in blazeface_front mlsd_tiny ppocr_det ppocr_cls; do
  for width in int8 int16; do
    dotnet "$cli" analyze "$cache/$model.onnx" --config "$root/tests/data/models/$model.quant.yaml" \
      --output "$out/$width" --set on_low_snr=warning \
      --set datapath_bitwidth_mode=$width --set weight_bitwidth_mode=$width \
      --set model_in_bitwidth_mode=$width --set model_out_bitwidth_mode=$width \
      --set cpu_node_bitwidth_mode=$width >/dev/null 2>&1
  done
  python3 - "$out/int8/$model.quant.json" "$out/int16/$model.quant.json" "$model" <<'PY'
import json, sys
int8, int16, model = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
snr16 = {o["name"]: o["snr_db"] for o in int16["outputs"]}
for o in int8["outputs"]:
    a, b = o["snr_db"], snr16[o["name"]]
    print(f"| {model} | {o['name']} | {o['evaluated_tensor']} | {a:.2f} | {b:.2f} | {b - a:.2f} |")
PY
done
rm -rf "$out"
