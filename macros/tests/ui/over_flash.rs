mod demo {
    tinyops_macros::include_model!("../compiler/demo/model.onnx", max_ram = 1_024, max_flash = 1_000);
}

fn main() {}
