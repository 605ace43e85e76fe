//! One gRPC channel per node address, connected on first use and dropped after a transport
//! failure. Connecting explicitly (not lazily) is what lets the retry loop tell "never
//! reached the node" (the request was certainly not sent) from "lost after sending".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dougdb_proto::v1::doug_client::DougClient;
use tonic::transport::{Channel, Endpoint};

use crate::topology::strip_scheme;

/// A client of one node.
pub(crate) type NodeClient = DougClient<Channel>;

/// Cached channels by `host:port`.
#[derive(Debug)]
pub(crate) struct Pool {
    channels: Mutex<HashMap<String, Channel>>,
    connect_timeout: Duration,
    message_bytes_max: usize,
}

impl Pool {
    pub(crate) fn new(connect_timeout: Duration, message_bytes_max: usize) -> Arc<Self> {
        Arc::new(Self {
            channels: Mutex::new(HashMap::new()),
            connect_timeout,
            message_bytes_max,
        })
    }

    /// A client of `address`, connecting within `budget` if there is no channel yet.
    /// The error is a human-readable reason.
    pub(crate) async fn get(&self, address: &str, budget: Duration) -> Result<NodeClient, String> {
        let key = strip_scheme(address).to_string();
        let cached = self.lock().get(&key).cloned();
        let channel = match cached {
            Some(channel) => channel,
            None => {
                let endpoint = Endpoint::from_shared(format!("http://{key}"))
                    .map_err(|err| format!("bad address {address:?}: {err}"))?
                    .connect_timeout(self.connect_timeout.min(budget))
                    .tcp_nodelay(true);
                let channel = endpoint
                    .connect()
                    .await
                    .map_err(|err| format!("{key}: {}", error_chain(&err)))?;
                self.lock().insert(key, channel.clone());
                channel
            }
        };
        Ok(DougClient::new(channel)
            .max_decoding_message_size(self.message_bytes_max)
            .max_encoding_message_size(self.message_bytes_max))
    }

    /// Forgets the channel of `address` after a transport failure; the next use reconnects.
    pub(crate) fn evict(&self, address: &str) {
        self.lock().remove(strip_scheme(address));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Channel>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `err` and its sources, joined (tonic's top-level message alone is "transport error").
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
