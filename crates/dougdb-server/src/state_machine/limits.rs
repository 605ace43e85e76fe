//! Limits on client writes and the key namespace reserved for the node's own records.
//! Checked before proposing (an `InvalidArgument` to the client, nothing proposed) and
//! again at apply (deterministically on every replica: a command over the limits is
//! rejected, not applied, so replicas with the same log never diverge).

use super::command::{BatchOp, Command, Op};
use crate::error::{Error, Result};

/// Keys starting with these bytes belong to the node (exactly-once table, future
/// metadata); client keys may not start with them, and client scans must stop before them.
pub const INTERNAL_KEY_PREFIX: &[u8] = b"\xffdougdb/";

/// Size limits of client writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest key (bytes); keys are never empty.
    pub key_max_bytes: u32,
    /// Largest value (bytes).
    pub value_max_bytes: u32,
    /// Most ops in one batch.
    pub batch_ops_max: u32,
    /// Most key + value bytes in one batch.
    pub batch_bytes_max: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            key_max_bytes: 4096,
            value_max_bytes: 1 << 20,
            batch_ops_max: 1024,
            batch_bytes_max: 4 << 20,
        }
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidArgument { reason }
}

impl Limits {
    /// Checks a client key.
    pub fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.is_empty() {
            return Err(invalid("empty key".into()));
        }
        if key.len() > self.key_max_bytes as usize {
            return Err(invalid(format!(
                "key of {} bytes is over the limit of {}",
                key.len(),
                self.key_max_bytes
            )));
        }
        if key.starts_with(INTERNAL_KEY_PREFIX) {
            return Err(invalid("key uses the reserved prefix \\xffdougdb/".into()));
        }
        Ok(())
    }

    /// Checks a client value.
    pub fn check_value(&self, value: &[u8]) -> Result<()> {
        if value.len() > self.value_max_bytes as usize {
            return Err(invalid(format!(
                "value of {} bytes is over the limit of {}",
                value.len(),
                self.value_max_bytes
            )));
        }
        Ok(())
    }

    /// Checks every key and value of a command.
    pub fn check(&self, cmd: &Command) -> Result<()> {
        match &cmd.op {
            Op::Put { key, value } => {
                self.check_key(key)?;
                self.check_value(value)
            }
            Op::Delete { key } => self.check_key(key),
            Op::Cas {
                key,
                expected,
                new_value,
            } => {
                self.check_key(key)?;
                for v in [expected, new_value].into_iter().flatten() {
                    self.check_value(v)?;
                }
                Ok(())
            }
            Op::Batch(ops) => {
                if ops.is_empty() || ops.len() > self.batch_ops_max as usize {
                    return Err(invalid(format!(
                        "a batch holds 1..={} ops, not {}",
                        self.batch_ops_max,
                        ops.len()
                    )));
                }
                let mut total = 0usize;
                for op in ops {
                    match op {
                        BatchOp::Put { key, value } => {
                            self.check_key(key)?;
                            self.check_value(value)?;
                            total = total.saturating_add(key.len() + value.len());
                        }
                        BatchOp::Delete { key } => {
                            self.check_key(key)?;
                            total = total.saturating_add(key.len());
                        }
                    }
                }
                if total > self.batch_bytes_max as usize {
                    return Err(invalid(format!(
                        "batch of {total} bytes is over the limit of {}",
                        self.batch_bytes_max
                    )));
                }
                Ok(())
            }
        }
    }
}
