//! Compiles `proto/` with the pure-Rust `protox` compiler (no system `protoc`),
//! generates the tonic code and writes the encoded descriptor set (imports
//! included) that reflection and Envoy's JSON transcoder read.

use std::path::PathBuf;

const PROTO_FILES: &[&str] = &[
    "xentree/v1/activity.proto",
    "xentree/v1/analytics.proto",
    "xentree/v1/quest.proto",
    "xentree/v1/streak.proto",
    "xentree/v1/user.proto",
    "xentree/v1/xp.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(false);
    compiler.open_files(PROTO_FILES)?;

    // The encoded form keeps extension options such as (google.api.http);
    // the prost-types form drops them, and Envoy would then find no REST routes.
    let descriptor = compiler.encode_file_descriptor_set();
    std::fs::write(out_dir.join("xentree_descriptor.bin"), &descriptor)?;
    // A copy beside the binaries (target/<profile>/xentree.pb) for Envoy's
    // `proto_descriptor`, so `envoy -c envoy.yaml` works after `cargo build --release`.
    if let Some(profile_dir) = out_dir.ancestors().nth(3) {
        std::fs::write(profile_dir.join("xentree.pb"), &descriptor)?;
    }

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
