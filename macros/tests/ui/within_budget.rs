mod demo {
    tinyops_macros::include_model!("../compiler/demo/model.onnx", input_shape = "input=1,1,16,16", max_ram = 65_536, max_flash = 65_536);
}

fn main() {
    let input = [0.5f32; 256];
    let mut output = [0f32; 10];
    let mut arena = demo::Arena::new();
    demo::Model::new(&mut arena).run(&input, &mut output);
    let sum: f32 = output.iter().sum();
    assert!((sum - 1.0).abs() < 1e-4, "softmax output sums to {sum}");
}
