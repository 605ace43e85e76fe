//! Why a byte buffer did not decode. `no_std`, so `Display` is written by hand.

use core::fmt;

/// A buffer that does not follow the ABI v1 encoding it was decoded as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The buffer ended before a field of `need` bytes at `offset`.
    Truncated {
        /// Where the field starts.
        offset: usize,
        /// How many bytes it needs.
        need: usize,
    },
    /// Bytes were left over after the last field.
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// A field's value is not allowed (a tag that is neither 0 nor 1, a count that cannot
    /// fit in the buffer, ...).
    BadValue {
        /// The field's name.
        field: &'static str,
        /// The value found.
        value: u64,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { offset, need } => {
                write!(f, "truncated: {need} bytes needed at offset {offset}")
            }
            Self::TrailingBytes { extra } => write!(f, "{extra} trailing bytes"),
            Self::BadValue { field, value } => write!(f, "bad value {value} for {field}"),
        }
    }
}

impl core::error::Error for DecodeError {}
