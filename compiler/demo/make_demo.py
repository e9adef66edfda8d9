#!/usr/bin/env python3
"""Writes the tinyops demo model and its reference data (this folder).

A small keyword-spotting-style CNN on a 1x1x16x16 input, with random weights from a
fixed seed: Conv + BatchNormalization + Relu, a depthwise Conv + Clip (ReLU6), a
pointwise Conv + Relu with a residual Add, MaxPool, GlobalAveragePool, Flatten,
Gemm and Softmax. The reference output comes from onnxruntime with graph
optimisations off (op-by-op ONNX semantics), like the corpus.

Regenerate with:  pip install onnx onnxruntime numpy && python3 make_demo.py
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261124)


def w(*shape, scale=0.3):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


inits = {
    "conv1.w": w(8, 1, 3, 3),
    "conv1.b": w(8, scale=0.1),
    "bn.scale": (1.0 + w(8, scale=0.1)),
    "bn.bias": w(8, scale=0.1),
    "bn.mean": w(8, scale=0.1),
    "bn.var": (0.5 + np.abs(w(8))).astype(np.float32),
    "dw.w": w(8, 1, 3, 3),
    "dw.b": w(8, scale=0.1),
    "pw.w": w(8, 8, 1, 1),
    "pw.b": w(8, scale=0.1),
    "fc.w": w(10, 8),
    "fc.b": w(10, scale=0.1),
    "relu6.min": np.array(0.0, np.float32),
    "relu6.max": np.array(6.0, np.float32),
}
nodes = [
    helper.make_node("Conv", ["input", "conv1.w", "conv1.b"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
    helper.make_node("BatchNormalization", ["c1", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["b1"], name="bn1", epsilon=1e-5),
    helper.make_node("Relu", ["b1"], ["r1"], name="relu1"),
    helper.make_node("Conv", ["r1", "dw.w", "dw.b"], ["d1"], name="depthwise", group=8, strides=[2, 2], pads=[1, 1, 1, 1]),
    helper.make_node("Clip", ["d1", "relu6.min", "relu6.max"], ["d2"], name="relu6"),
    helper.make_node("Conv", ["d2", "pw.w", "pw.b"], ["p1"], name="pointwise"),
    helper.make_node("Relu", ["p1"], ["p2"], name="relu2"),
    helper.make_node("Add", ["p2", "d2"], ["res"], name="residual"),
    helper.make_node("MaxPool", ["res"], ["mp"], name="maxpool", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("GlobalAveragePool", ["mp"], ["gap"], name="gap"),
    helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
    helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], name="fc", transB=1),
    helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
]
graph = helper.make_graph(
    nodes,
    "tinyops_demo",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 16, 16])],
    [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])],
    [numpy_helper.from_array(v, k) for k, v in inits.items()],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tinyops make_demo.py")
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)
onnx.save(model, os.path.join(HERE, "model.onnx"))

x = rng.standard_normal((1, 1, 16, 16)).astype(np.float32)
opts = ort.SessionOptions()
opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
sess = ort.InferenceSession(os.path.join(HERE, "model.onnx"), opts, providers=["CPUExecutionProvider"])
(y,) = sess.run(None, {"input": x})
data = os.path.join(HERE, "test_data_set_0")
os.makedirs(data, exist_ok=True)
with open(os.path.join(data, "input_0.pb"), "wb") as f:
    f.write(numpy_helper.from_array(x, "input").SerializeToString())
with open(os.path.join(data, "output_0.pb"), "wb") as f:
    f.write(numpy_helper.from_array(y, "probs").SerializeToString())
print("wrote model.onnx and test_data_set_0; reference output:", np.array2string(y, precision=4))
