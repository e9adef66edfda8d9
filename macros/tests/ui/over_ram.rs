mod demo {
    tinyops_macros::include_model!("../compiler/demo/model.onnx", target = "cortex-m4", max_ram = 1_024);
}

fn main() {}
