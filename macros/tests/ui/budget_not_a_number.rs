mod demo {
    tinyops_macros::include_model!("../compiler/demo/model.onnx", max_ram = "64K");
}

fn main() {}
