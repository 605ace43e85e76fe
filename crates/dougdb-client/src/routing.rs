//! Client-side routing: which shard a key belongs to, with the routing plugin the cluster
//! map names, after checking its digest.
//!
//! The built-in hash router (named `"hash-router"`, `"hash"`, or nothing at all in the
//! map) is run natively with
//! [`dougdb_plugin_abi::hash_route`]: its wasm guest calls exactly that function (the ABI
//! crate is shared by host and guest), so both place every key identically by
//! construction, and the client needs neither the wasm bytes nor a wasm engine. Any other
//! plugin is fetched from a node, its sha256 checked against the map's digest (a mismatch
//! is refused with [`Error::PluginDigestMismatch`]), and run in the wasmtime host (feature
//! `wasm-routing`).

use sha2::{Digest as _, Sha256};

use crate::topology::RoutingSpec;
use crate::{Error, Result, ShardId};

/// Name of the built-in hash router in cluster maps.
pub const BUILTIN_HASH_ROUTER: &str = "hash-router";

/// Every name a map may give the built-in hash router: the plugin's name, the cluster
/// file's short name, and none (the default routing).
const BUILTIN_HASH_ROUTER_NAMES: [&str; 3] = [BUILTIN_HASH_ROUTER, "hash", ""];

/// Keys per call into a wasm router (well under the host's batch limits).
#[cfg(feature = "wasm-routing")]
const WASM_BATCH_KEYS_MAX: usize = 4096;

/// A ready-to-use router.
#[derive(Debug, Clone)]
pub(crate) enum Routing {
    /// The built-in hash router, run natively.
    Hash,
    /// A wasm routing plugin whose digest matched the map.
    #[cfg(feature = "wasm-routing")]
    Wasm(dougdb_plugin::Router),
}

impl Routing {
    /// Whether building the router for `spec` needs the plugin's wasm bytes.
    pub(crate) fn needs_wasm(spec: &RoutingSpec) -> bool {
        !BUILTIN_HASH_ROUTER_NAMES.contains(&spec.name.as_str())
    }

    /// The router for `spec`; `wasm` are the plugin's bytes as a node served them (unused
    /// for the built-in hash router).
    pub(crate) fn build(spec: &RoutingSpec, wasm: Option<&[u8]>) -> Result<Self> {
        if !Self::needs_wasm(spec) {
            return Ok(Routing::Hash);
        }
        let wasm = wasm.ok_or_else(|| Error::Plugin {
            plugin: spec.name.clone(),
            reason: "the node did not send the plugin's bytes with the cluster map".into(),
        })?;
        verify_digest(spec, wasm)?;
        load_wasm(spec, wasm)
    }

    /// The shard of each key, in order.
    pub(crate) fn route(&self, keys: &[&[u8]], shard_count: u32) -> Result<Vec<ShardId>> {
        match self {
            Routing::Hash => Ok(keys
                .iter()
                .map(|k| ShardId(u64::from(dougdb_plugin_abi::hash_route(k, shard_count))))
                .collect()),
            #[cfg(feature = "wasm-routing")]
            Routing::Wasm(router) => {
                let mut out = Vec::with_capacity(keys.len());
                for chunk in keys.chunks(WASM_BATCH_KEYS_MAX) {
                    let shards = router
                        .route(chunk, shard_count)
                        .map_err(|err| Error::Plugin {
                            plugin: router.name().to_string(),
                            reason: err.to_string(),
                        })?;
                    out.extend(shards.into_iter().map(|s| ShardId(u64::from(s))));
                }
                Ok(out)
            }
        }
    }
}

/// Refuses `wasm` unless its sha256 is the one the map names.
pub(crate) fn verify_digest(spec: &RoutingSpec, wasm: &[u8]) -> Result<()> {
    let Some(expected) = spec.sha256 else {
        return Err(Error::Plugin {
            plugin: spec.name.clone(),
            reason: "the cluster map gives no sha256 digest for it, and an unverified \
                     routing plugin is refused: put its digest in the cluster file"
                .into(),
        });
    };
    let found: [u8; 32] = Sha256::digest(wasm).into();
    if found != expected {
        return Err(Error::PluginDigestMismatch {
            plugin: spec.name.clone(),
            expected: hex(&expected),
            found: hex(&found),
        });
    }
    Ok(())
}

#[cfg(feature = "wasm-routing")]
fn load_wasm(spec: &RoutingSpec, wasm: &[u8]) -> Result<Routing> {
    let plugin_err = |err: dougdb_plugin::PluginError| Error::Plugin {
        plugin: spec.name.clone(),
        reason: err.to_string(),
    };
    let host =
        dougdb_plugin::PluginHost::new(dougdb_plugin::Limits::default()).map_err(plugin_err)?;
    let router = host
        .load_router(&spec.name, wasm, &spec.config)
        .map_err(plugin_err)?;
    Ok(Routing::Wasm(router))
}

#[cfg(not(feature = "wasm-routing"))]
fn load_wasm(spec: &RoutingSpec, _wasm: &[u8]) -> Result<Routing> {
    Err(Error::Plugin {
        plugin: spec.name.clone(),
        reason: "this client was built without the `wasm-routing` feature, so it can only \
                 use the built-in hash router: rebuild dougdb-client with `wasm-routing`"
            .into(),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, wasm: &[u8]) -> RoutingSpec {
        RoutingSpec {
            name: name.into(),
            sha256: Some(Sha256::digest(wasm).into()),
            config: Vec::new(),
        }
    }

    #[test]
    fn builtin_hash_router_is_native_and_needs_no_bytes_nor_digest() {
        for name in BUILTIN_HASH_ROUTER_NAMES {
            let spec = RoutingSpec {
                name: name.into(),
                sha256: None,
                config: Vec::new(),
            };
            let routing = Routing::build(&spec, None).unwrap();
            let keys: [&[u8]; 3] = [b"a", b"bb", b""];
            let shards = routing.route(&keys, 4).unwrap();
            for (key, shard) in keys.iter().zip(shards) {
                assert_eq!(shard.0, u64::from(dougdb_plugin_abi::hash_route(key, 4)));
            }
        }
    }

    #[test]
    fn a_custom_plugin_without_a_digest_is_refused() {
        let spec = RoutingSpec {
            name: "custom".into(),
            sha256: None,
            config: Vec::new(),
        };
        let err = Routing::build(&spec, Some(b"bytes")).unwrap_err();
        assert!(matches!(err, Error::Plugin { .. }), "{err}");
    }

    #[test]
    fn bytes_that_do_not_match_the_digest_are_refused() {
        let err = verify_digest(&spec("custom", b"one"), b"two").unwrap_err();
        let Error::PluginDigestMismatch {
            expected, found, ..
        } = err
        else {
            panic!("wrong error: {err:?}");
        };
        assert_eq!(expected, hex(&Sha256::digest(b"one")));
        assert_eq!(found, hex(&Sha256::digest(b"two")));
    }
}
