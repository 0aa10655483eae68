//! Regenerates `include/aml/dma/ze.h` from the Rust definitions with cbindgen
//! (written only when its content changes, so a clean tree stays clean) and
//! gives the library its versioned soname.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(aml_h)");
    // make loom-check builds the tests with --cfg loom.
    println!("cargo::rustc-check-cfg=cfg(loom)");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libaml_dma_ze.so.0");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");

    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen can read the library's sources");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    let header = crate_dir.join("include/aml/dma/ze.h");
    if std::fs::read(&header).ok().as_deref() != Some(fresh.as_slice()) {
        std::fs::create_dir_all(header.parent().expect("header has a folder")).expect("include/ is writable");
        std::fs::write(&header, &fresh).expect("include/aml/dma/ze.h is writable");
    }
}
