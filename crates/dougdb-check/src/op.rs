//! The input: one record per client call on a single key, Jepsen style.

/// What a call asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Command<V> {
    /// Read the key.
    Get,
    /// Set the key to `value`.
    Put {
        /// The value written.
        value: V,
    },
    /// Remove the key.
    Delete,
    /// Set the key to `new` if it holds `expected` (`None`: if it is absent).
    Cas {
        /// What the key must hold for the swap (`None`: it must be absent).
        expected: Option<V>,
        /// The value written on a swap.
        new: V,
    },
}

/// What an acknowledged call returned; its kind must match the command's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Output<V> {
    /// A `get` read this (`None`: absent).
    Get(Option<V>),
    /// A `put` happened.
    Put,
    /// A `delete` happened; whether the key existed.
    Delete {
        /// The key held a value just before the delete.
        existed: bool,
    },
    /// A `cas` happened; whether it swapped.
    Cas {
        /// The key held the expected value and now holds the new one.
        swapped: bool,
    },
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome<V> {
    /// It took effect exactly once, between invocation and completion, with this output.
    Ok(Output<V>),
    /// It certainly had no effect (refused before anything was applied); it is dropped.
    Fail,
    /// Unknown (timeout, lost connection): it took effect once at some time after its
    /// invocation, or never. Its output, if any, is unknown, so an `info` read constrains
    /// nothing and is dropped.
    Info,
}

/// One call on one key. Times are from one monotonic clock (any unit); call `a` precedes
/// call `b` in real time iff `a.complete < b.invoke` (equal times count as concurrent).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Operation<K, V> {
    /// The key; operations on different keys are checked independently.
    pub key: K,
    /// What was asked.
    pub command: Command<V>,
    /// How it ended.
    pub outcome: Outcome<V>,
    /// When it was invoked.
    pub invoke: u64,
    /// When its answer arrived (required for `Ok`, ignored otherwise).
    pub complete: Option<u64>,
}

impl<V> Command<V> {
    /// Whether `output` is an answer this command can give.
    pub(crate) fn accepts(&self, output: &Output<V>) -> bool {
        matches!(
            (self, output),
            (Command::Get, Output::Get(_))
                | (Command::Put { .. }, Output::Put)
                | (Command::Delete, Output::Delete { .. })
                | (Command::Cas { .. }, Output::Cas { .. })
        )
    }
}
