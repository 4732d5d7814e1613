#!/usr/bin/env python3
"""Derives askdesk's default embedding model from the packaged all-MiniLM-L6-v2 int8 ONNX file.

  quantize_model.py SRC_DIR DEST_DIR

The packaged model stores int8 weights that ONNX Runtime dequantizes to fp32 at load, so every
inference runs fp32 matrix products. This script lets ONNX Runtime fold that dequantization
(basic graph optimisations, written out as an fp32 graph) and re-quantizes the result dynamically
with per-channel int8 weights (MatMulInteger with int8 activations), which runs on the CPU's int8
units: ~1.8x the passage throughput and ~2x faster single queries on this machine, with vectors at
cosine 0.995 of the original and unchanged retrieval quality (README, "Embedding model").
Tokenizer files are copied unchanged. Deterministic for pinned onnxruntime/onnx versions.
"""
import os, shutil, sys, tempfile
import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic

src, dest = sys.argv[1], sys.argv[2]
os.makedirs(dest, exist_ok=True)
with tempfile.TemporaryDirectory() as tmp:
    folded = os.path.join(tmp, "fp32.onnx")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = folded
    ort.InferenceSession(os.path.join(src, "model.onnx"), options, providers=["CPUExecutionProvider"])
    out = os.path.join(tmp, "model.onnx")
    quantize_dynamic(folded, out, weight_type=QuantType.QInt8, per_channel=True)
    shutil.move(out, os.path.join(dest, "model.onnx"))
for name in ("tokenizer.json", "config.json", "special_tokens_map.json", "tokenizer_config.json"):
    shutil.copy(os.path.join(src, name), os.path.join(dest, name))
