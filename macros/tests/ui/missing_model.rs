mod model {
    tinyops_macros::include_model!("tests/ui/models/no_such_model.onnx");
}

fn main() {}
