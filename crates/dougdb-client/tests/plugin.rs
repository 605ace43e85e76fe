//! Routing plugins named by the cluster map: the bytes must hash to the map's digest or
//! the client refuses to connect; a matching wasm router routes (feature `wasm-routing`).
//! Uses the built-in hash router's `.wasm`, built by scripts/build-plugins.sh.

mod common;

use bytes::Bytes;
use common::Mock;
use dougdb_client::{Client, Error};
use dougdb_plugin::{Digest, builtin_path};

fn hash_router_wasm() -> Vec<u8> {
    let path = builtin_path("hash-router");
    std::fs::read(&path).unwrap_or_else(|err| {
        panic!(
            "{}: {err}; run scripts/build-plugins.sh to build the wasm plugins first",
            path.display()
        )
    })
}

async fn mock_with_plugin(wasm: Vec<u8>, sha256: [u8; 32]) -> Mock {
    let mock = Mock::start(2, 4).await;
    mock.lock().routing = dougdb_proto::v1::RoutingPlugin {
        name: "custom-router".into(),
        sha256: Bytes::copy_from_slice(&sha256),
        wasm: Some(Bytes::from(wasm)),
        config: Bytes::new(),
    };
    mock
}

#[tokio::test]
async fn a_plugin_whose_bytes_do_not_match_the_digest_is_refused() {
    let wasm = hash_router_wasm();
    let mut wrong = Digest::of(&wasm).0;
    wrong[0] ^= 0xff;
    let mock = mock_with_plugin(wasm.clone(), wrong).await;
    let err = Client::connect(&mock.endpoints()).await.unwrap_err();
    assert_eq!(
        err,
        Error::PluginDigestMismatch {
            plugin: "custom-router".into(),
            expected: Digest(wrong).to_string(),
            found: Digest::of(&wasm).to_string(),
        }
    );
    assert!(mock.calls().is_empty(), "nothing was routed");
}

#[cfg(feature = "wasm-routing")]
#[tokio::test]
async fn a_wasm_router_with_the_right_digest_routes_like_hash_route() {
    let wasm = hash_router_wasm();
    let digest = Digest::of(&wasm).0;
    let mock = mock_with_plugin(wasm, digest).await;
    let client = Client::connect(&mock.endpoints()).await.unwrap();
    for i in 0..32 {
        let key = format!("key-{i}");
        client.put(&key, b"v").await.unwrap();
    }
    for c in mock.calls() {
        assert_eq!(c.shard, u64::from(dougdb_plugin_abi::hash_route(&c.key, 4)));
    }
}

#[cfg(not(feature = "wasm-routing"))]
#[tokio::test]
async fn without_wasm_routing_a_custom_router_is_a_plugin_error() {
    let wasm = hash_router_wasm();
    let digest = Digest::of(&wasm).0;
    let mock = mock_with_plugin(wasm, digest).await;
    let err = Client::connect(&mock.endpoints()).await.unwrap_err();
    assert!(matches!(err, Error::Plugin { .. }), "{err}");
    assert!(err.to_string().contains("wasm-routing"), "{err}");
}
