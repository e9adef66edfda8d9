mod model {
    tinyops_macros::include_model!("tests/ui/models/unsupported.onnx", target = "cortex-m4");
}

fn main() {}
