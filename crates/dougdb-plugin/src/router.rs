//! `Router`: a loaded routing plugin as clients, the facade and nodes use it. Batches go to
//! the guest in one call; every answer is range-checked against the shard count.

use std::sync::Arc;

use dougdb_plugin_abi::{EXPORT_ROUTE, encode_keys};

use crate::pool::Loaded;
use crate::slot::Entry;
use crate::{Digest, PluginError, Result};

/// A routing plugin. Cheap to clone; `Send + Sync` (calls from several threads use
/// separate instances).
#[derive(Debug, Clone)]
pub struct Router {
    inner: Arc<Loaded>,
}

impl Router {
    pub(crate) fn from_loaded(inner: Arc<Loaded>) -> Self {
        Self { inner }
    }

    /// The shard index in `[0, shard_count)` of each key, in order.
    pub fn route(&self, keys: &[&[u8]], shard_count: u32) -> Result<Vec<u32>> {
        let limits = &self.inner.limits;
        if shard_count == 0 {
            return Err(self.invalid("shard_count must be at least 1".into()));
        }
        if keys.len() > limits.batch_keys_max {
            return Err(self.invalid(format!(
                "{} keys in one call, the limit is {}",
                keys.len(),
                limits.batch_keys_max
            )));
        }
        let mut input = Vec::new();
        encode_keys(keys, &mut input);
        if input.len() > limits.input_bytes_max {
            return Err(self.invalid(format!(
                "{} bytes of keys in one call, the limit is {}",
                input.len(),
                limits.input_bytes_max
            )));
        }
        let budget = limits.fuel_for(keys.len(), limits.fuel_per_key, input.len());
        self.inner.with_slot(budget, |slot| {
            let Entry::Route(route) = &slot.entry else {
                return Err(PluginError::MissingExport {
                    plugin: slot.plugin(),
                    export: EXPORT_ROUTE.into(),
                });
            };
            let route = route.clone();
            let input = slot.write(&input, budget)?;
            let packed = route
                .call(
                    &mut slot.store,
                    (input.ptr as i32, input.len as i32, shard_count as i32),
                )
                .map_err(|err| slot.fail(err, budget))?;
            let (output, bytes) = slot.output(packed)?;
            let shards = decode_checked(bytes, keys.len(), shard_count).map_err(|reason| {
                PluginError::BadOutput {
                    plugin: slot.plugin(),
                    reason,
                }
            })?;
            slot.release(output, budget)?;
            slot.release(input, budget)?;
            Ok(shards)
        })
    }

    /// The shard of one key (a batch of one).
    pub fn route_one(&self, key: &[u8], shard_count: u32) -> Result<u32> {
        let shards = self.route(&[key], shard_count)?;
        shards
            .first()
            .copied()
            .ok_or_else(|| PluginError::BadOutput {
                plugin: self.name().into(),
                reason: "no shard for the key".into(),
            })
    }

    /// The sha256 of the module's bytes.
    pub fn digest(&self) -> Digest {
        self.inner.digest
    }

    /// The name the plugin was loaded under.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Fuel used by the last call (of any thread), including allocator calls.
    pub fn last_fuel_used(&self) -> u64 {
        self.inner.last_fuel_used()
    }

    /// Instances made so far (the first at load, one more after each failed call).
    pub fn instances_made(&self) -> u64 {
        self.inner.instances_made()
    }

    fn invalid(&self, reason: String) -> PluginError {
        PluginError::InvalidArgument {
            plugin: self.name().into(),
            reason,
        }
    }
}

/// Exactly `count` little-endian `u32`s, each below `shard_count`.
fn decode_checked(bytes: &[u8], count: usize, shard_count: u32) -> Result<Vec<u32>, String> {
    if bytes.len() != 4 * count {
        return Err(format!(
            "{} output bytes for {count} keys, expected {}",
            bytes.len(),
            4 * count
        ));
    }
    let mut shards = Vec::with_capacity(count);
    for (i, raw) in bytes.chunks_exact(4).enumerate() {
        let shard = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
        if shard >= shard_count {
            return Err(format!(
                "shard index {shard} for key #{i} is out of range for {shard_count} shards"
            ));
        }
        shards.push(shard);
    }
    Ok(shards)
}
