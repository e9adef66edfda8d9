mod model {
    tinyops_macros::include_model!("tests/ui/models/dynamic.onnx");
}

fn main() {}
