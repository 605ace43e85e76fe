//! The crate's one error type: a history the checker cannot interpret.

use std::fmt;

/// Why a history was rejected before any search (the checker never fails during a search:
/// it answers `Linearizable`, `Violation` or `Unknown`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckError {
    /// An `ok` operation has no completion time: an acknowledged call must have ended.
    OkWithoutCompletion {
        /// Position of the operation in the input.
        index: usize,
    },
    /// An operation completed before it was invoked.
    CompletedBeforeInvoked {
        /// Position of the operation in the input.
        index: usize,
        /// Its invocation time.
        invoke: u64,
        /// Its completion time.
        complete: u64,
    },
    /// An `ok` operation's output is of another kind than its command (a `get` answered
    /// with `swapped`, say).
    OutputMismatch {
        /// Position of the operation in the input.
        index: usize,
    },
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::OkWithoutCompletion { index } => write!(
                f,
                "operation {index} is ok but has no completion time; give it the time its \
                 answer arrived, or mark it info if the answer never came"
            ),
            CheckError::CompletedBeforeInvoked {
                index,
                invoke,
                complete,
            } => write!(
                f,
                "operation {index} completed at {complete}, before it was invoked at {invoke}; \
                 both times must come from the same monotonic clock"
            ),
            CheckError::OutputMismatch { index } => write!(
                f,
                "operation {index} has an output of another kind than its command (get \
                 returns a value, put nothing, delete `existed`, cas `swapped`)"
            ),
        }
    }
}

impl std::error::Error for CheckError {}
