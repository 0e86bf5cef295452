// The shared flow as blocking code for sea-orm-sync.
fn main() {
    let flow = std::fs::read_to_string("../shared/flow.rs.in").unwrap();
    let flow = flow.replace("ASYNC ", "").replace("AWAIT", "");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("flow.rs");
    std::fs::write(out, flow).unwrap();
    println!("cargo:rerun-if-changed=../shared/flow.rs.in");
}
