//! Compiles `proto/dougdb/v1/*.proto` (at the repository root) into Rust at build time.
//! There is no `protoc` on the build machines: `protox` parses the files into a
//! `FileDescriptorSet`, which `tonic-prost-build` turns into prost messages and tonic
//! services. The encoded descriptor set is also written to `OUT_DIR` for reflection.

use std::path::PathBuf;

use prost::Message;

const FILES: [&str; 3] = [
    "dougdb/v1/kv.proto",
    "dougdb/v1/raft.proto",
    "dougdb/v1/admin.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    for f in FILES {
        println!("cargo:rerun-if-changed={}", root.join(f).display());
    }
    let fds = protox::compile(FILES, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("dougdb_v1_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        // `bytes::Bytes` for every bytes field: values move between tasks without copies.
        .bytes(".")
        .compile_fds(fds)?;
    Ok(())
}
