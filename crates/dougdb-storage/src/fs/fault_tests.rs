//! Tests of the fault-injecting file system: what survives a crash and what does not.

use super::*;

fn dir() -> PathBuf {
    PathBuf::from("/db")
}

#[test]
fn unsynced_bytes_are_lost_at_a_crash() {
    let fs = FaultFs::new();
    fs.create_dir_all(&dir()).unwrap();
    let f = fs.create(&dir().join("a")).unwrap();
    fs.sync_dir(&dir()).unwrap();
    f.append(b"durable").unwrap();
    f.sync().unwrap();
    f.append(b"-volatile").unwrap();
    fs.restart();
    assert_eq!(fs.read_all(&dir().join("a")).unwrap(), b"durable");
    assert!(f.append(b"x").is_err(), "old handles die with the crash");
}

#[test]
fn names_need_a_directory_sync() {
    let fs = FaultFs::new();
    fs.create_dir_all(&dir()).unwrap();
    let f = fs.create(&dir().join("a")).unwrap();
    f.append(b"x").unwrap();
    f.sync().unwrap();
    fs.restart();
    assert!(
        !fs.exists(&dir().join("a")),
        "creation was never made durable"
    );
}

#[test]
fn crash_point_stops_the_disk_before_that_sync() {
    let fs = FaultFs::new();
    fs.create_dir_all(&dir()).unwrap();
    fs.set_crash_config(CrashConfig {
        crash_before_sync: Some(2),
        torn_tail_seed: None,
    });
    let f = fs.create(&dir().join("a")).unwrap();
    fs.sync_dir(&dir()).unwrap(); // point 0
    f.append(b"one").unwrap();
    f.sync().unwrap(); // point 1
    f.append(b"two").unwrap();
    assert!(f.sync().is_err()); // point 2: crash
    assert!(fs.is_crashed());
    fs.restart();
    assert_eq!(fs.read_all(&dir().join("a")).unwrap(), b"one");
}

#[test]
fn torn_tail_keeps_a_prefix_of_unsynced_appends() {
    let fs = FaultFs::new();
    fs.create_dir_all(&dir()).unwrap();
    let f = fs.create(&dir().join("a")).unwrap();
    fs.sync_dir(&dir()).unwrap();
    f.append(b"base").unwrap();
    f.sync().unwrap();
    f.append(b"0123456789").unwrap();
    fs.set_crash_config(CrashConfig {
        crash_before_sync: None,
        torn_tail_seed: Some(7),
    });
    fs.restart();
    let got = fs.read_all(&dir().join("a")).unwrap();
    assert!(got.starts_with(b"base"));
    assert!(b"base0123456789".starts_with(&got[..]));
}

#[test]
fn truncation_below_synced_length_is_undone_by_a_crash() {
    let fs = FaultFs::new();
    fs.create_dir_all(&dir()).unwrap();
    let f = fs.create(&dir().join("a")).unwrap();
    fs.sync_dir(&dir()).unwrap();
    f.append(b"abcdef").unwrap();
    f.sync().unwrap();
    f.truncate(2).unwrap();
    f.append(b"XY").unwrap();
    assert_eq!(fs.read_all(&dir().join("a")).unwrap(), b"abXY");
    fs.restart();
    assert_eq!(fs.read_all(&dir().join("a")).unwrap(), b"abcdef");
}

#[test]
fn corrupt_flips_bits_in_both_images() {
    let fs = FaultFs::new();
    fs.create_dir_all(&dir()).unwrap();
    let f = fs.create(&dir().join("a")).unwrap();
    fs.sync_dir(&dir()).unwrap();
    f.append(b"\x00\x00").unwrap();
    f.sync().unwrap();
    assert!(fs.corrupt(&dir().join("a"), 1, 0x80));
    fs.restart();
    assert_eq!(fs.read_all(&dir().join("a")).unwrap(), b"\x00\x80");
}
