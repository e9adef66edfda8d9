#!/usr/bin/env python3
"""Writes the small models the include_model! compile-fail tests read (this folder).

- unsupported.onnx: Relu, then two nodes tinyops will never compile (a string op and an
  op from a private domain), so the error must list both at once.
- dynamic.onnx: a Relu whose input has a symbolic batch dimension that is not pinned.

Regenerate with:  pip install onnx && python3 make_models.py
"""
import os

import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save(graph, name, opsets):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets],
                              producer_name="tinyops tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name))


x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
s = helper.make_tensor_value_info("s", TensorProto.STRING, [1, 4])
save(
    helper.make_graph(
        [
            helper.make_node("Relu", ["x"], ["r"], name="relu"),
            helper.make_node("Cast", ["r"], ["rs"], name="to_text", to=TensorProto.STRING),
            helper.make_node("StringNormalizer", ["rs"], ["s"], name="normalise", case_change_action="LOWER"),
            helper.make_node("Wiggle", ["r"], ["y"], name="wiggle", domain="com.example"),
        ],
        "unsupported",
        [x],
        [y, s],
    ),
    "unsupported.onnx",
    [("", 13), ("com.example", 1)],
)

xd = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
yd = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
save(helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "dynamic", [xd], [yd]),
     "dynamic.onnx", [("", 13)])
