//! Fuzz target: arbitrary bytes as a replicated command (the `data` of every Normal entry
//! of a shard's Raft log, `dougdb-server`'s `state_machine/command.rs`). Decoding gives a
//! command or `BadCommand`, never a panic; a decoded command re-encodes to exactly the
//! input (the format has one encoding per command), and the size limits checked before
//! proposing and at apply never panic on it.
#![no_main]

use dougdb_fuzz::state_machine::command::Command;
use dougdb_fuzz::state_machine::limits::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(cmd) = Command::decode(data) else {
        return;
    };
    assert_eq!(
        cmd.encode(),
        data,
        "{cmd:?} does not re-encode to its bytes"
    );
    let _ = Limits::default().check(&cmd);
});
