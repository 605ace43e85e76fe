//! Taking and installing snapshots of a [`StateMachine`]: the LSM's tables (a
//! `Db::checkpoint`, pinned while read), the applied index and the exactly-once table,
//! encoded as in [`super::snapshot`]; installed with `Db::ingest_checkpoint`, which
//! verifies every table and swaps the whole tree atomically (docs/storage.md).

use dougdb_storage::lsm::{IngestCheckpoint, IngestTable};

use super::machine::StateMachine;
use super::sessions::Sessions;
use super::snapshot::{self, SnapshotWriter};
use crate::error::{Error, Result};

fn corrupt(reason: String) -> Error {
    Error::Storage {
        source: dougdb_storage::Error::corruption("raft snapshot data", 0, reason),
    }
}

impl StateMachine {
    /// A snapshot of the applied state (format in [`super::snapshot`]): flushes the
    /// memtable, then copies every live table into one buffer. Memory: the buffer holds
    /// all the tables (the shard's on-disk size) until the caller drops it.
    pub fn snapshot_data(&self) -> Result<Vec<u8>> {
        let ck = self.db.checkpoint()?;
        if ck.applied_index() != self.applied {
            return Err(Error::Unavailable {
                reason: format!(
                    "checkpoint holds index {} but {} is applied",
                    ck.applied_index(),
                    self.applied
                ),
            });
        }
        let tables = ck.tables();
        let size = usize::try_from(ck.size_bytes()).map_err(|_| Error::InvalidArgument {
            reason: "snapshot larger than the address space".into(),
        })?;
        let sessions = self.sessions.sorted();
        let mut w = SnapshotWriter::new(
            self.applied,
            ck.last_seq(),
            &sessions,
            tables.len() as u32,
            size + tables.len() * 64,
        );
        for (i, t) in tables.iter().enumerate() {
            w.add_table(t.level, &t.name, |out| Ok(ck.read_table_into(i, out)?))?;
        }
        Ok(w.finish())
    }

    /// Replaces the whole state with the snapshot `data` taken at `index`: every check
    /// (format CRCs, then every table's block CRCs) passes before anything changes, and
    /// the swap is atomic and durable on return (the durable applied index is `index`).
    /// A bad snapshot is `Error::Storage { Corruption }` with the old state intact.
    pub fn install_snapshot(&mut self, index: u64, data: &[u8]) -> Result<()> {
        let view = snapshot::decode(data)?;
        if view.applied_index != index {
            return Err(corrupt(format!(
                "snapshot holds index {} but is installed as {index}",
                view.applied_index
            )));
        }
        let ingest = IngestCheckpoint {
            tables: view
                .tables
                .iter()
                .map(|t| IngestTable {
                    level: t.level,
                    bytes: t.bytes,
                })
                .collect(),
            applied_index: index,
            last_seq: view.last_seq,
        };
        self.db.ingest_checkpoint(&ingest)?;
        self.applied = index;
        self.log_bytes_since_snapshot = 0;
        self.sessions = Sessions::load(&self.db, self.sessions_max)?;
        let loaded = self.sessions.sorted();
        let same = loaded.len() == view.sessions.len()
            && loaded
                .iter()
                .zip(&view.sessions)
                .all(|((a, sa), (b, sb))| a == b && *sa == sb);
        if !same {
            // The tables passed every check, so they are what the leader had: its
            // header and its tables disagree (a bug on the leader, not a disk fault).
            return Err(corrupt(format!(
                "the snapshot's session table ({} clients) differs from its tables ({})",
                view.sessions.len(),
                loaded.len()
            )));
        }
        Ok(())
    }
}
