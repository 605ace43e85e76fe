//! Compiles `proto/etcd/{rpc,kv}.proto` (a wire-compatible subset of etcd's v3 KV API)
//! into a tonic client for `load --target etcd`. Same pipeline as `dougdb-proto`: no
//! `protoc` on the build machines, so `protox` parses the files and `tonic-prost-build`
//! generates the prost messages and the client (no server).

use std::path::PathBuf;

const FILES: [&str; 2] = ["etcd/rpc.proto", "etcd/kv.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("proto");
    for f in FILES {
        println!("cargo:rerun-if-changed={}", root.join(f).display());
    }
    let fds = protox::compile(FILES, [&root])?;
    tonic_prost_build::configure()
        .build_server(false)
        .compile_fds(fds)?;
    Ok(())
}
