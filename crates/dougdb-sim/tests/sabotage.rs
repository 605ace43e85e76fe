//! The checkers have teeth: with a disk broken on purpose, the simulator must find a
//! failing seed quickly. (If these pass while the sabotage is in place, the invariants,
//! the linearizability check or the durability check are not looking.)

use dougdb_sim::disk::Sabotage;
use dougdb_sim::faults::{FaultConfig, Profile, SimConfig};
use dougdb_sim::rng::SimRng;
use dougdb_sim::run;
use dougdb_sim::workload::WorkloadConfig;

fn first_failure(how: Sabotage, seeds: u64) -> Option<String> {
    for seed in 0..seeds {
        let mut cfg = SimConfig::from_seed(seed);
        let mut rng = SimRng::new(seed);
        cfg.faults = FaultConfig {
            crash_p: 0.05,
            restart_p: 0.2,
            ..FaultConfig::for_profile(Profile::Chaos, &mut rng)
        };
        cfg.sabotage = Some(how);
        if let Err(f) = run(cfg, WorkloadConfig::default()) {
            return Some(f.to_string());
        }
    }
    None
}

#[test]
fn a_disk_that_forgets_votes_is_caught() {
    let f = first_failure(Sabotage::ForgetHardState, 200);
    println!("{f:?}");
    assert!(f.is_some(), "no seed caught a node that forgets its vote");
}

#[test]
fn a_disk_that_loses_synced_entries_is_caught() {
    let f = first_failure(Sabotage::LoseSyncedTail, 200);
    println!("{f:?}");
    assert!(f.is_some(), "no seed caught lost durable entries");
}
