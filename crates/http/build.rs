// The web app in ../../web/dist is embedded into release builds: rebuild when it changes.
fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
}
