//! The cluster file (JSON): node ids and addresses, shards and their replicas, the
//! routing plugin. Read at bootstrap, persisted as `<data-dir>/cluster.json`, and checked
//! against the persisted copy on every later start (a data dir of another cluster is
//! refused). Format and example in `docs/operations.md`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Name of the persisted copy inside a node's data dir.
pub const PERSISTED_FILE: &str = "cluster.json";

/// One node of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEntry {
    /// Node id, >= 1.
    pub id: u64,
    /// `host:port` of its gRPC listener.
    pub address: String,
}

/// One shard (Raft group) and the nodes holding its initial voters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// Shard id (0-based).
    pub id: u64,
    /// Node ids of the initial voters.
    pub replicas: Vec<u64>,
    /// Nodes that host an empty replica, waiting to be added (`Admin.AddLearner`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub joining: Vec<u64>,
}

/// The routing plugin clients use to map keys to shards (see [`crate::plugins`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingEntry {
    /// `hash` (built-in, the default), `range` (built-in, with `splits`), or the name of
    /// the plugin in `path`.
    pub name: String,
    /// Lowercase hex sha256 of the wasm bytes; empty: taken from the file at bootstrap.
    #[serde(default)]
    pub sha256: String,
    /// The plugin's `.wasm` file, read once at bootstrap (the node keeps a copy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The range router's split points (UTF-8 strings, strictly ascending): n splits make
    /// n + 1 shards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub splits: Vec<String>,
    /// Any other plugin's configuration, as lowercase hex (passed to its `init`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub config_hex: String,
}

impl RoutingEntry {
    /// The bytes the plugin's `init` gets: the encoded `splits`, or `config_hex` decoded.
    pub fn config_bytes(&self) -> std::result::Result<Vec<u8>, String> {
        match (self.splits.is_empty(), self.config_hex.is_empty()) {
            (false, false) => Err("give either `splits` or `config_hex`, not both".into()),
            (false, true) => {
                let splits: Vec<&[u8]> = self.splits.iter().map(|s| s.as_bytes()).collect();
                Ok(dougdb_plugin::range_router_config(&splits))
            }
            (true, false) => decode_hex(&self.config_hex)
                .ok_or_else(|| format!("config_hex {:?} is not hex", self.config_hex)),
            (true, true) => Ok(Vec::new()),
        }
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The compaction policy of every shard's LSM (see [`crate::plugins`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactionEntry {
    /// `leveled` (the default), `tiered`, or the name of the plugin in `path`.
    pub name: String,
    /// A wasm compaction plugin's file, read at every start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Lowercase hex sha256 the plugin file must have (empty: not checked).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
}

/// The whole cluster file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterFile {
    /// Random id chosen when the file was made; nodes refuse peers and data dirs of
    /// another cluster.
    pub cluster_id: u64,
    /// Starts at 1; a node's persisted copy counts up with every membership change it
    /// applies (served as `ClusterMap.version`).
    #[serde(default = "first_version")]
    pub version: u64,
    /// Every node.
    pub nodes: Vec<NodeEntry>,
    /// Every shard.
    pub shards: Vec<ShardEntry>,
    /// Routing plugin.
    #[serde(default)]
    pub routing: RoutingEntry,
    /// Compaction policy.
    #[serde(default, skip_serializing_if = "is_default")]
    pub compaction: CompactionEntry,
}

fn first_version() -> u64 {
    1
}

fn is_default(c: &CompactionEntry) -> bool {
    *c == CompactionEntry::default()
}

fn config_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Config {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl ClusterFile {
    /// Reads and validates a cluster file.
    pub fn load(path: &Path) -> Result<ClusterFile> {
        let text = std::fs::read_to_string(path).map_err(|cause| Error::Io {
            what: format!("reading cluster file {}", path.display()),
            cause,
        })?;
        let file: ClusterFile =
            serde_json::from_str(&text).map_err(|e| config_err(path, e.to_string()))?;
        file.validate().map_err(|reason| config_err(path, reason))?;
        Ok(file)
    }

    /// Writes the file as pretty JSON, atomically and durably: temp file, fsync, rename,
    /// fsync of the directory.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text =
            serde_json::to_string_pretty(self).map_err(|e| config_err(path, e.to_string()))?;
        let tmp = path.with_extension("json.tmp");
        let io = |cause| Error::Io {
            what: format!("writing {}", path.display()),
            cause,
        };
        {
            use std::io::Write as _;
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
        Ok(())
    }

    /// Checks ids and references; says what is wrong.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.cluster_id == 0 {
            return Err("cluster_id must be non-zero".into());
        }
        let mut ids = BTreeSet::new();
        for n in &self.nodes {
            if n.id == 0 {
                return Err("node id 0 is reserved".into());
            }
            if !ids.insert(n.id) {
                return Err(format!("node {} listed twice", n.id));
            }
        }
        let mut shards = BTreeSet::new();
        for s in &self.shards {
            if !shards.insert(s.id) {
                return Err(format!("shard {} listed twice", s.id));
            }
            if s.replicas.is_empty() {
                return Err(format!("shard {} has no replicas", s.id));
            }
            if let Some(bad) = s
                .replicas
                .iter()
                .chain(&s.joining)
                .find(|r| !ids.contains(r))
            {
                return Err(format!("shard {} names unknown node {bad}", s.id));
            }
        }
        Ok(())
    }

    /// The address of node `id`.
    pub fn address(&self, id: u64) -> Option<&str> {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .map(|n| n.address.as_str())
    }

    /// Shards with a replica (initial or joining) on node `id`.
    pub fn shards_of(&self, id: u64) -> impl Iterator<Item = &ShardEntry> {
        self.shards
            .iter()
            .filter(move |s| s.replicas.contains(&id) || s.joining.contains(&id))
    }

    /// Persists `self` into `data_dir` at first start; on later starts, checks that the
    /// persisted copy belongs to the same cluster and returns it (the data dir is the
    /// source of truth once bootstrapped), plus any node the file added since.
    pub fn bootstrap_or_check(self, data_dir: &Path) -> Result<ClusterFile> {
        std::fs::create_dir_all(data_dir).map_err(|cause| Error::Io {
            what: format!("creating data dir {}", data_dir.display()),
            cause,
        })?;
        let persisted = persisted_path(data_dir);
        if !persisted.exists() {
            self.save(&persisted)?;
            return Ok(self);
        }
        let old = ClusterFile::load(&persisted)?;
        if old.cluster_id != self.cluster_id {
            return Err(config_err(
                data_dir,
                format!(
                    "data dir belongs to cluster {}, the cluster file says {}",
                    old.cluster_id, self.cluster_id
                ),
            ));
        }
        // Nodes added to the file since bootstrap (new members) are learnt and persisted;
        // nothing else in the file can change a bootstrapped node.
        let mut merged = old;
        let added: Vec<NodeEntry> = self
            .nodes
            .into_iter()
            .filter(|n| merged.address(n.id).is_none())
            .collect();
        if !added.is_empty() {
            merged.nodes.extend(added);
            merged.save(&persisted)?;
        }
        Ok(merged)
    }
}

/// The cluster map a running node serves: its persisted cluster file plus what the
/// membership changes it applied taught it (new members' addresses travel in their
/// conf-change entries). Every change is saved to `<data-dir>/cluster.json` before it is
/// served, so a restarted node knows every member it knew before.
#[derive(Debug)]
pub struct LiveCluster {
    file: parking_lot::RwLock<ClusterFile>,
    path: PathBuf,
}

impl LiveCluster {
    /// The map of a node whose data dir is `data_dir`, starting from `file` (as returned
    /// by [`ClusterFile::bootstrap_or_check`]).
    pub fn new(file: ClusterFile, data_dir: &Path) -> LiveCluster {
        LiveCluster {
            file: parking_lot::RwLock::new(file),
            path: persisted_path(data_dir),
        }
    }

    /// A copy of the current map.
    pub fn get(&self) -> ClusterFile {
        self.file.read().clone()
    }

    /// The cluster's id.
    pub fn cluster_id(&self) -> u64 {
        self.file.read().cluster_id
    }

    /// The address of node `id`, if known.
    pub fn address(&self, id: u64) -> Option<String> {
        self.file.read().address(id).map(str::to_owned)
    }

    /// Records an applied membership change of node `id` (with its address when the
    /// change carried one): adds or updates the node, counts the version up and saves
    /// the file. Not saved (and not changed) if the save fails.
    pub fn membership_changed(&self, id: u64, address: Option<&str>) -> Result<()> {
        let mut file = self.file.write();
        let mut next = file.clone();
        next.version = next.version.saturating_add(1);
        if let Some(address) = address {
            match next.nodes.iter_mut().find(|n| n.id == id) {
                Some(n) => n.address = address.to_owned(),
                None => next.nodes.push(NodeEntry {
                    id,
                    address: address.to_owned(),
                }),
            }
        }
        next.save(&self.path)?;
        *file = next;
        Ok(())
    }
}

/// Where a node's data dir keeps its copy of the cluster file.
pub fn persisted_path(data_dir: &Path) -> PathBuf {
    data_dir.join(PERSISTED_FILE)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn file() -> ClusterFile {
        ClusterFile {
            cluster_id: 7,
            version: 1,
            nodes: (1..=3)
                .map(|id| NodeEntry {
                    id,
                    address: format!("127.0.0.1:710{id}"),
                })
                .collect(),
            shards: vec![ShardEntry {
                id: 0,
                replicas: vec![1, 2, 3],
                joining: vec![],
            }],
            routing: RoutingEntry::default(),
            compaction: CompactionEntry::default(),
        }
    }

    #[test]
    fn a_membership_change_is_persisted_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let boot = file().bootstrap_or_check(dir.path()).unwrap();
        let live = LiveCluster::new(boot, dir.path());
        live.membership_changed(4, Some("127.0.0.1:7104")).unwrap();
        live.membership_changed(2, None).unwrap();
        assert_eq!(live.address(4).as_deref(), Some("127.0.0.1:7104"));
        assert_eq!(live.get().version, 3);
        // A restart with the original file keeps what was learnt.
        let again = file().bootstrap_or_check(dir.path()).unwrap();
        assert_eq!(again.address(4), Some("127.0.0.1:7104"));
        assert_eq!(again.version, 3);
    }

    #[test]
    fn a_file_without_version_reads_as_version_one() {
        let text = r#"{"cluster_id": 9, "nodes": [{"id": 1, "address": "a:1"}],
                      "shards": [{"id": 0, "replicas": [1]}]}"#;
        let f: ClusterFile = serde_json::from_str(text).unwrap();
        assert_eq!(f.version, 1);
        assert_eq!(f.routing, RoutingEntry::default());
        assert_eq!(f.compaction, CompactionEntry::default());
    }

    #[test]
    fn routing_configuration_is_splits_or_hex_never_both() {
        let mut r = RoutingEntry {
            name: "range".into(),
            splits: vec!["m".into()],
            ..Default::default()
        };
        assert!(!r.config_bytes().unwrap().is_empty());
        r.config_hex = "00".into();
        assert!(r.config_bytes().is_err());
        r.splits.clear();
        assert_eq!(r.config_bytes().unwrap(), vec![0]);
        r.config_hex = "0g".into();
        assert!(r.config_bytes().is_err());
    }
}
