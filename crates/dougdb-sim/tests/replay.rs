//! Replays one seed exactly and prints what happened:
//! `DOUGDB_SEED=<seed> cargo test -p dougdb-sim --test replay -- --nocapture`.
//! Without `DOUGDB_SEED` it replays seed 0 (so the entry point itself stays tested).

use dougdb_sim::run_seed;

#[test]
fn replay() {
    let seed: u64 = std::env::var("DOUGDB_SEED")
        .ok()
        .map(|s| {
            s.trim()
                .parse()
                .expect("DOUGDB_SEED must be an unsigned integer")
        })
        .unwrap_or(0);
    match run_seed(seed) {
        Ok(r) => {
            println!("seed {seed}: ok");
            println!("  config: {:?}", r.config);
            println!(
                "  steps {}, leaders elected {}, committed up to {}, liveness after heal {} ticks",
                r.steps, r.leaders, r.committed, r.liveness_ticks
            );
            println!(
                "  client ops ok/fail/info: {:?}; invariant checks {}",
                r.ops, r.checks
            );
            println!("  faults: {:?}", r.stats);
        }
        Err(f) => panic!("{f}"),
    }
}
