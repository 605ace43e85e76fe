//! The client history of a run, Jepsen style: every operation is invoked, then ends as
//! `ok` (it happened, with this result), `fail` (it certainly did not happen) or `info`
//! (unknown: it may have happened, at any time after its invocation, or never).

use std::fmt;

use crate::kv::{ClientId, KvOp, KvOutput};

/// Index of an operation in its `History`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub usize);

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still outstanding (becomes `Info` when the history is closed).
    Pending,
    /// Completed with this result.
    Ok(KvOutput),
    /// Certainly had no effect (e.g. the proposal was refused).
    Fail,
    /// Unknown: timed out, or the node serving it crashed.
    Info,
}

/// One operation: its invocation and completion as positions in the history's total
/// order of events (`invoke < complete`), plus the virtual ticks for humans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpRecord {
    /// Who issued it.
    pub client: ClientId,
    /// What was asked.
    pub op: KvOp,
    /// Position of the invocation event.
    pub invoke: u64,
    /// Position of the completion event (`None` while pending or for `Info`).
    pub complete: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
    /// Tick of the invocation.
    pub invoke_tick: u64,
    /// Tick of the completion.
    pub complete_tick: Option<u64>,
}

impl fmt::Display for OpRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = match self.complete_tick {
            Some(t) => format!("t{t}"),
            None => "∞".to_string(),
        };
        write!(
            f,
            "client {} {:?} -> {:?} [t{}..{}] [ev {}..{}]",
            self.client.0,
            self.op,
            self.outcome,
            self.invoke_tick,
            end,
            self.invoke,
            self.complete
                .map_or_else(|| "∞".to_string(), |c| c.to_string()),
        )
    }
}

/// Everything the clients did, in real-time order.
#[derive(Clone, Debug, Default)]
pub struct History {
    ops: Vec<OpRecord>,
    next_event: u64,
}

impl History {
    /// An empty history.
    pub fn new() -> History {
        History::default()
    }

    fn event(&mut self) -> u64 {
        let e = self.next_event;
        self.next_event += 1;
        e
    }

    /// Records an invocation at `tick`.
    pub fn invoke(&mut self, client: ClientId, op: KvOp, tick: u64) -> OpId {
        let invoke = self.event();
        self.ops.push(OpRecord {
            client,
            op,
            invoke,
            complete: None,
            outcome: Outcome::Pending,
            invoke_tick: tick,
            complete_tick: None,
        });
        OpId(self.ops.len() - 1)
    }

    fn finish(&mut self, id: OpId, outcome: Outcome, tick: u64) {
        let event = self.event();
        if let Some(rec) = self.ops.get_mut(id.0) {
            assert_eq!(
                rec.outcome,
                Outcome::Pending,
                "operation {id:?} completed twice"
            );
            rec.outcome = outcome;
            if outcome != Outcome::Info {
                rec.complete = Some(event);
                rec.complete_tick = Some(tick);
            }
        }
    }

    /// The operation happened and returned `output`.
    pub fn ok(&mut self, id: OpId, output: KvOutput, tick: u64) {
        self.finish(id, Outcome::Ok(output), tick);
    }

    /// The operation certainly had no effect.
    pub fn fail(&mut self, id: OpId, tick: u64) {
        self.finish(id, Outcome::Fail, tick);
    }

    /// The operation's fate is unknown.
    pub fn info(&mut self, id: OpId, tick: u64) {
        self.finish(id, Outcome::Info, tick);
    }

    /// Marks every still-pending operation `Info` (end of the run).
    pub fn close(&mut self, tick: u64) {
        for i in 0..self.ops.len() {
            if self
                .ops
                .get(i)
                .is_some_and(|r| r.outcome == Outcome::Pending)
            {
                self.info(OpId(i), tick);
            }
        }
    }

    /// All operations, in invocation order.
    pub fn ops(&self) -> &[OpRecord] {
        &self.ops
    }

    /// Counts of (ok, fail, info, pending) operations.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for r in &self.ops {
            match r.outcome {
                Outcome::Ok(_) => c.0 += 1,
                Outcome::Fail => c.1 += 1,
                Outcome::Info => c.2 += 1,
                Outcome::Pending => c.3 += 1,
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::{Key, Value};

    #[test]
    fn events_are_totally_ordered_and_close_turns_pending_into_info() {
        let mut h = History::new();
        let a = h.invoke(ClientId(1), KvOp::Get { key: Key(1) }, 0);
        let b = h.invoke(
            ClientId(2),
            KvOp::Put {
                key: Key(1),
                value: Value(5),
            },
            0,
        );
        h.ok(a, KvOutput::Get(Value::ABSENT), 3);
        h.close(9);
        let ops = h.ops();
        assert_eq!(ops[a.0].complete, Some(2));
        assert_eq!(ops[b.0].outcome, Outcome::Info);
        assert_eq!(ops[b.0].complete, None);
        assert_eq!(h.counts(), (1, 0, 1, 0));
        assert!(ops[b.0].to_string().contains('∞'));
    }
}
