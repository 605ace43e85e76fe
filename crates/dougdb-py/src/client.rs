//! The native `Client`: `dougdb_client::Client` behind blocking, GIL-releasing methods.
//! Arguments arrive already normalised by `python/dougdb/client.py` (bytes keys, checked
//! options); this layer still refuses what it cannot map, with `InvalidArgumentError`.

use std::sync::Mutex;
use std::time::Duration;

use dougdb_client::{ClientOptions, Consistency};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::errors::{self, to_py};
use crate::runtime::wait;

/// A connection to a DougDB cluster (or to one node, when pinned). Thread-safe; every
/// call blocks with the GIL released and can be interrupted with Ctrl-C.
#[pyclass(module = "dougdb._native", frozen)]
#[derive(Debug)]
pub(crate) struct Client {
    /// `None` once closed.
    inner: Mutex<Option<dougdb_client::Client>>,
    /// The process the client (and its connections) belongs to; a forked child must make
    /// its own.
    pid: u32,
    endpoints: Vec<String>,
    pinned: bool,
}

/// A positive, finite number of seconds as a `Duration`.
pub(crate) fn seconds(what: &str, value: f64) -> PyResult<Duration> {
    if !value.is_finite() || value <= 0.0 || value > 1e9 {
        return Err(errors::invalid(format!(
            "{what} must be a positive number of seconds, got {value}"
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

fn consistency(value: &str) -> PyResult<Consistency> {
    match value {
        "strong" => Ok(Consistency::Strong),
        "eventual" => Ok(Consistency::Eventual),
        other => Err(errors::invalid(format!(
            "consistency must be \"strong\" or \"eventual\", got {other:?}"
        ))),
    }
}

/// Gets in flight at once for one `get_many`.
const GET_MANY_IN_FLIGHT_MAX: usize = 32;

/// `get_many` as `dougdb_client::Client::get_many` does it (bounded concurrency, one
/// deadline for the whole call), but with owned keys: the client's own future borrows
/// its key slice in a way rustc cannot prove `Send` for a spawned task.
async fn get_many(
    c: dougdb_client::Client,
    keys: Vec<Vec<u8>>,
    level: Consistency,
) -> dougdb_client::Result<Vec<Option<bytes::Bytes>>> {
    use futures::StreamExt as _;
    let deadline = c.timeout();
    let gets = keys.into_iter().map(|key| {
        let c = c.clone();
        async move { c.get(key, level).await }
    });
    let all = futures::stream::iter(gets)
        .buffered(GET_MANY_IN_FLIGHT_MAX)
        .collect::<Vec<_>>();
    match tokio::time::timeout(deadline, all).await {
        Ok(results) => results.into_iter().collect(),
        Err(_) => Err(dougdb_client::Error::Timeout { deadline }),
    }
}

impl Client {
    /// The client handle for one call: this process's, with the call's deadline.
    fn handle(&self, timeout: Option<f64>) -> PyResult<dougdb_client::Client> {
        if self.pid != std::process::id() {
            return Err(errors::dougdb_error(
                "this client was made in another process (before a fork); its connections \
                 do not work here: make a new client in this process"
                    .to_string(),
            ));
        }
        let guard = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(client) = guard.as_ref() else {
            return Err(errors::dougdb_error(
                "the client is closed: make a new one with dougdb.connect(...)".to_string(),
            ));
        };
        match timeout {
            None => Ok(client.clone()),
            Some(t) => Ok(client.with_timeout(seconds("timeout", t)?)),
        }
    }
}

#[pymethods]
impl Client {
    /// Connects to `endpoints` (nodes or a facade); `timeout` is the default deadline of
    /// every call and of the connect itself. `pinned`: talk to the one endpoint only, with
    /// no redirects.
    #[staticmethod]
    #[pyo3(signature = (endpoints, timeout, pinned=false))]
    fn connect(
        py: Python<'_>,
        endpoints: Vec<String>,
        timeout: f64,
        pinned: bool,
    ) -> PyResult<Self> {
        let options = ClientOptions {
            timeout: seconds("timeout", timeout)?,
            pinned,
            ..ClientOptions::new(&endpoints)
        };
        let client = wait(py, dougdb_client::Client::connect_with(options))?.map_err(to_py)?;
        Ok(Client {
            inner: Mutex::new(Some(client)),
            pid: std::process::id(),
            endpoints,
            pinned,
        })
    }

    /// Sets `key` to `value`.
    #[pyo3(signature = (key, value, timeout=None))]
    fn put(
        &self,
        py: Python<'_>,
        key: Vec<u8>,
        value: Vec<u8>,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        let c = self.handle(timeout)?;
        wait(py, async move { c.put(key, value).await })?.map_err(to_py)
    }

    /// The value of `key`, or None.
    #[pyo3(signature = (key, consistency="strong", timeout=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: Vec<u8>,
        consistency: &str,
        timeout: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let level = self::consistency(consistency)?;
        let c = self.handle(timeout)?;
        let value = wait(py, async move { c.get(key, level).await })?.map_err(to_py)?;
        Ok(value.map(|v| PyBytes::new(py, &v)))
    }

    /// Deletes `key`; whether it existed.
    #[pyo3(signature = (key, timeout=None))]
    fn delete(&self, py: Python<'_>, key: Vec<u8>, timeout: Option<f64>) -> PyResult<bool> {
        let c = self.handle(timeout)?;
        wait(py, async move { c.delete(key).await })?.map_err(to_py)
    }

    /// Compare-and-set (None: absent / delete); whether it applied.
    #[pyo3(signature = (key, expected, new, timeout=None))]
    fn cas(
        &self,
        py: Python<'_>,
        key: Vec<u8>,
        expected: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
        timeout: Option<f64>,
    ) -> PyResult<bool> {
        let c = self.handle(timeout)?;
        wait(py, async move {
            c.cas(key, expected.as_deref(), new.as_deref()).await
        })?
        .map_err(to_py)
    }

    /// Pairs with `start <= key < end` in key order across shards, at most `limit`.
    #[pyo3(signature = (start, end=None, limit=None, consistency="strong", timeout=None))]
    fn scan<'py>(
        &self,
        py: Python<'py>,
        start: Vec<u8>,
        end: Option<Vec<u8>>,
        limit: Option<usize>,
        consistency: &str,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let level = self::consistency(consistency)?;
        let c = self.handle(timeout)?;
        let pairs = wait(py, async move {
            c.scan(start, end.as_deref(), limit, level).await
        })?
        .map_err(to_py)?;
        let items = pairs
            .iter()
            .map(|(k, v)| (PyBytes::new(py, k), PyBytes::new(py, v)));
        PyList::new(py, items)
    }

    /// Puts every pair (atomic per shard).
    #[pyo3(signature = (items, timeout=None))]
    fn put_many(
        &self,
        py: Python<'_>,
        items: Vec<(Vec<u8>, Vec<u8>)>,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        let c = self.handle(timeout)?;
        wait(py, async move { c.put_many(items).await })?.map_err(to_py)
    }

    /// The value of each key (None where absent), aligned with `keys`.
    #[pyo3(signature = (keys, consistency="strong", timeout=None))]
    fn get_many<'py>(
        &self,
        py: Python<'py>,
        keys: Vec<Vec<u8>>,
        consistency: &str,
        timeout: Option<f64>,
    ) -> PyResult<Vec<Option<Bound<'py, PyBytes>>>> {
        let level = self::consistency(consistency)?;
        let c = self.handle(timeout)?;
        let values = wait(py, get_many(c, keys, level))?.map_err(to_py)?;
        Ok(values
            .into_iter()
            .map(|v| v.map(|v| PyBytes::new(py, &v)))
            .collect())
    }

    /// The shard `key` routes to (no network call).
    fn shard_for(&self, key: Vec<u8>) -> PyResult<u64> {
        let c = self.handle(None)?;
        c.shard_for(key).map(|s| s.0).map_err(to_py)
    }

    /// Fetches the cluster map again.
    #[pyo3(signature = (timeout=None))]
    fn refresh_cluster_map(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        let c = self.handle(timeout)?;
        wait(py, async move { c.refresh_cluster_map().await })?.map_err(to_py)
    }

    /// The cluster map in use: `{"cluster_id", "version", "nodes": {id: address},
    /// "shards": [{"id", "voters", "learners", "leader_hint"}], "routing": name}`.
    fn cluster_map<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let map = self.handle(None)?.cluster_map();
        let out = PyDict::new(py);
        out.set_item("cluster_id", map.cluster_id)?;
        out.set_item("version", map.version)?;
        let nodes = PyDict::new(py);
        for (id, address) in &map.nodes {
            nodes.set_item(id.0, address)?;
        }
        out.set_item("nodes", nodes)?;
        let shards = PyList::empty(py);
        for shard in &map.shards {
            let s = PyDict::new(py);
            s.set_item("id", shard.id.0)?;
            s.set_item(
                "voters",
                shard.voters.iter().map(|n| n.0).collect::<Vec<_>>(),
            )?;
            s.set_item(
                "learners",
                shard.learners.iter().map(|n| n.0).collect::<Vec<_>>(),
            )?;
            s.set_item("leader_hint", shard.leader_hint.map(|n| n.0))?;
            shards.append(s)?;
        }
        out.set_item("shards", shards)?;
        out.set_item("routing", &map.routing.name)?;
        Ok(out)
    }

    /// The default deadline of each call, in seconds.
    #[getter]
    fn timeout(&self) -> PyResult<f64> {
        Ok(self.handle(None)?.timeout().as_secs_f64())
    }

    /// The endpoints given to `connect`.
    #[getter]
    fn endpoints(&self) -> Vec<String> {
        self.endpoints.clone()
    }

    /// Whether the client is pinned to its one endpoint.
    #[getter]
    fn pinned(&self) -> bool {
        self.pinned
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_none()
    }

    /// Drops the connections; later calls raise `DougDBError`.
    fn close(&self) {
        let client = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        // Channels close when their tasks notice; dropping needs this process's runtime.
        drop(client);
    }

    fn __repr__(&self) -> String {
        format!(
            "<dougdb._native.Client endpoints={:?}{}>",
            self.endpoints,
            if self.pinned { " pinned" } else { "" }
        )
    }
}
