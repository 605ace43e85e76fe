//! The result of applying a command, and its encoding (stored in the exactly-once table
//! so a retried write gets the answer of its single application). Little-endian:
//!
//! ```text
//! tag u8 = 1 Put
//! tag u8 = 2 Delete | existed u8
//! tag u8 = 3 Cas    | success u8 | has_current u8 | [len u32 | current]
//! tag u8 = 4 Batch  | count u32 | existed u8 x count
//! ```

/// What a write did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The put was applied.
    Put,
    /// The delete was applied; whether the key existed before it.
    Delete {
        /// Key existed.
        existed: bool,
    },
    /// Compare-and-set result.
    Cas {
        /// The comparison held and the write was done.
        success: bool,
        /// The key's value after the operation (on failure, the value that did not match).
        current: Option<Vec<u8>>,
    },
    /// Per op of a batch: for a delete, whether the key existed just before it.
    Batch {
        /// One flag per op (false for puts).
        existed: Vec<bool>,
    },
}

impl Outcome {
    /// Encodes the outcome.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Outcome::Put => out.push(1),
            Outcome::Delete { existed } => out.extend_from_slice(&[2, u8::from(*existed)]),
            Outcome::Cas { success, current } => {
                out.extend_from_slice(&[3, u8::from(*success), u8::from(current.is_some())]);
                if let Some(v) = current {
                    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    out.extend_from_slice(v);
                }
            }
            Outcome::Batch { existed } => {
                out.push(4);
                out.extend_from_slice(&(existed.len() as u32).to_le_bytes());
                out.extend(existed.iter().map(|&e| u8::from(e)));
            }
        }
    }

    /// Decodes an outcome (the whole buffer); never panics.
    pub fn decode(buf: &[u8]) -> Result<Outcome, &'static str> {
        let flag = |b: Option<&u8>| match b {
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            _ => Err("bad flag"),
        };
        let len_at = |at: usize| -> Result<usize, &'static str> {
            let b = buf.get(at..at + 4).ok_or("truncated")?;
            let mut a = [0u8; 4];
            a.copy_from_slice(b);
            Ok(u32::from_le_bytes(a) as usize)
        };
        let exact = |o: Outcome, len: usize| {
            if buf.len() == len {
                Ok(o)
            } else {
                Err("wrong length")
            }
        };
        match buf.first() {
            Some(1) => exact(Outcome::Put, 1),
            Some(2) => exact(
                Outcome::Delete {
                    existed: flag(buf.get(1))?,
                },
                2,
            ),
            Some(3) => {
                let success = flag(buf.get(1))?;
                if !flag(buf.get(2))? {
                    return exact(
                        Outcome::Cas {
                            success,
                            current: None,
                        },
                        3,
                    );
                }
                let n = len_at(3)?;
                let v = buf.get(7..7 + n).ok_or("truncated")?.to_vec();
                exact(
                    Outcome::Cas {
                        success,
                        current: Some(v),
                    },
                    7 + n,
                )
            }
            Some(4) => {
                let n = len_at(1)?;
                let flags = buf.get(5..).ok_or("truncated")?;
                let existed = flags
                    .iter()
                    .map(|b| flag(Some(b)))
                    .collect::<Result<Vec<bool>, _>>()?;
                exact(Outcome::Batch { existed }, 5 + n)
            }
            _ => Err("unknown outcome tag"),
        }
    }
}
