//! The pick call's output: a compaction task, or nothing.
//!
//! ```text
//! tag: u32 = 0                                   (nothing to do; 4 bytes in all)
//! tag: u32 = 1 | output_level: u32 | input_count: u32 | input_id: u64 * input_count
//! ```

use alloc::vec::Vec;

use crate::DecodeError;
use crate::reader::{Reader, len_u32, put_u32, put_u64};

/// Identifies an SSTable for the lifetime of a database (never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TableId(pub u64);

/// A policy's decision: merge `inputs` (from one or two adjacent levels) into
/// `output_level`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionTask {
    /// Tables to merge.
    pub inputs: Vec<TableId>,
    /// The level the merged output goes to.
    pub output_level: u32,
}

const TAG_NONE: u32 = 0;
const TAG_TASK: u32 = 1;

/// Encodes a pick result into `out` (cleared first).
pub fn encode_task(task: Option<&CompactionTask>, out: &mut Vec<u8>) {
    out.clear();
    match task {
        None => put_u32(out, TAG_NONE),
        Some(task) => {
            put_u32(out, TAG_TASK);
            put_u32(out, task.output_level);
            put_u32(out, len_u32(task.inputs.len()));
            for id in &task.inputs {
                put_u64(out, id.0);
            }
        }
    }
}

/// Decodes a whole pick result; trailing bytes are an error.
pub fn decode_task(buf: &[u8]) -> Result<Option<CompactionTask>, DecodeError> {
    let mut r = Reader::new(buf);
    let task = match r.u32()? {
        TAG_NONE => None,
        TAG_TASK => {
            let output_level = r.u32()?;
            let count = r.count("input count", 8)?;
            let mut inputs = Vec::with_capacity(count);
            for _ in 0..count {
                inputs.push(TableId(r.u64()?));
            }
            Some(CompactionTask {
                inputs,
                output_level,
            })
        }
        tag => {
            return Err(DecodeError::BadValue {
                field: "task tag",
                value: u64::from(tag),
            });
        }
    };
    r.finish()?;
    Ok(task)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn none_and_task_round_trip() {
        let mut buf = Vec::new();
        encode_task(None, &mut buf);
        assert_eq!(buf, [0, 0, 0, 0]);
        assert_eq!(decode_task(&buf).unwrap(), None);
        let task = CompactionTask {
            inputs: vec![TableId(3), TableId(u64::MAX)],
            output_level: 2,
        };
        encode_task(Some(&task), &mut buf);
        assert_eq!(buf.len(), 12 + 16);
        assert_eq!(decode_task(&buf).unwrap(), Some(task));
    }

    #[test]
    fn unknown_tag_truncation_and_trailing_bytes_are_refused() {
        assert!(decode_task(&[2, 0, 0, 0]).is_err());
        assert!(decode_task(&[]).is_err());
        assert!(decode_task(&[0, 0, 0, 0, 0]).is_err());
        assert!(decode_task(&[1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7]).is_err());
    }
}
