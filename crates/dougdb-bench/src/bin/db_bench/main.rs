//! db_bench-style storage benchmark: the same workloads as RocksDB's db_bench (fillseq,
//! fillrandom, overwrite, readrandom, readmissing, seekrandom + next N, deleterandom, and
//! a synced fill), run against DougDB's LSM and, in the same process, fjall.
//! `scripts/bench-storage.sh` runs this and RocksDB's own db_bench with matching flags.

use std::path::Path;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use dougdb_bench::{Measurement, Recorder, dir_size_bytes, print_table};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod engines;

use engines::{Engine, open_engine};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineKind {
    Dougdb,
    Fjall,
}

#[derive(Debug, Parser)]
#[command(about = "db_bench-style benchmark of DougDB's storage engine (and fjall)")]
struct Args {
    /// Engines to run, in order.
    #[arg(long, value_delimiter = ',', default_value = "dougdb,fjall")]
    engines: Vec<EngineKind>,
    /// Keys per fill and operations per read/delete benchmark.
    #[arg(long, default_value_t = 1_000_000)]
    num: u64,
    /// Keys written with an fsync after every write.
    #[arg(long, default_value_t = 20_000)]
    sync_num: u64,
    /// Value size in bytes (keys are 16 bytes).
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// Seeks in seekrandom (each followed by `seek_nexts` nexts); default num / 10.
    #[arg(long)]
    seeks: Option<u64>,
    /// Entries read after each seek.
    #[arg(long, default_value_t = 10)]
    seek_nexts: usize,
    /// Memtable (write buffer) size, MiB, for every engine.
    #[arg(long, default_value_t = 64)]
    write_buffer_mb: u64,
    /// Block cache size, MiB, for every engine.
    #[arg(long, default_value_t = 64)]
    cache_mb: u64,
    /// Seed of the key and value generator (printed; rerun with it to replay).
    #[arg(long)]
    seed: Option<u64>,
    /// Directory for the databases (default: a temporary directory).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

/// Settings shared by every engine so the comparison is like for like.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Memtable size in bytes.
    pub write_buffer_bytes: u64,
    /// Block cache size in bytes.
    pub cache_bytes: u64,
    /// fsync before each write returns.
    pub sync_every_write: bool,
}

const KEY_LEN: usize = 16;

fn key(n: u64) -> [u8; KEY_LEN] {
    let mut k = [0u8; KEY_LEN];
    let s = format!("{n:016}");
    k.copy_from_slice(&s.as_bytes()[..KEY_LEN]);
    k
}

/// Values are slices of one random buffer, like db_bench's generator (no compression is
/// configured anywhere, so their content does not matter beyond not being all zeros).
struct Values {
    buf: Vec<u8>,
    size: usize,
}

impl Values {
    fn new(rng: &mut StdRng, size: usize) -> Self {
        let mut buf = vec![0u8; (1 << 20).max(size * 4)];
        rng.fill(&mut buf[..]);
        Values { buf, size }
    }
    fn next(&self, rng: &mut StdRng) -> &[u8] {
        let at = rng.random_range(0..self.buf.len() - self.size);
        &self.buf[at..at + self.size]
    }
}

struct Run<'a> {
    args: &'a Args,
    rng: StdRng,
    values: Values,
    rows: Vec<Measurement>,
}

impl Run<'_> {
    fn fill(&mut self, db: &dyn Engine, name: &str, count: u64, sequential: bool) {
        let mut rec = Recorder::new();
        for i in 0..count {
            let k = if sequential {
                i
            } else {
                self.rng.random_range(0..self.args.num)
            };
            let v = self.values.next(&mut self.rng);
            rec.time(|| db.put(&key(k), v));
        }
        self.push(rec.finish(name, db.name()), db, String::new());
    }

    fn read(&mut self, db: &dyn Engine, name: &str, missing: bool) {
        let mut rec = Recorder::new();
        let mut found = 0u64;
        let n = self.args.num;
        for _ in 0..n {
            let k = self.rng.random_range(0..n) + if missing { n } else { 0 };
            if rec.time(|| db.get(&key(k))) {
                found += 1;
            }
        }
        self.push(
            rec.finish(name, db.name()),
            db,
            format!("{found} of {n} found"),
        );
    }

    fn seek(&mut self, db: &dyn Engine) {
        let mut rec = Recorder::new();
        let seeks = self.args.seeks.unwrap_or(self.args.num / 10).max(1);
        let mut entries = 0u64;
        for _ in 0..seeks {
            let k = self.rng.random_range(0..self.args.num);
            entries += rec.time(|| db.seek_next(&key(k), self.args.seek_nexts)) as u64;
        }
        let note = format!("{entries} entries read, next {}", self.args.seek_nexts);
        self.push(rec.finish("seekrandom", db.name()), db, note);
    }

    fn delete(&mut self, db: &dyn Engine) {
        let mut rec = Recorder::new();
        for _ in 0..self.args.num {
            let k = self.rng.random_range(0..self.args.num);
            rec.time(|| db.delete(&key(k)));
        }
        self.push(rec.finish("deleterandom", db.name()), db, String::new());
    }

    fn push(&mut self, mut m: Measurement, db: &dyn Engine, note: String) {
        if let Some(shape) = db.shape() {
            eprintln!("  after {}: {shape}", m.name);
        }
        m.disk_bytes = Some(dir_size_bytes(db.dir()));
        m.note = note;
        print_table(std::slice::from_ref(&m));
        self.rows.push(m);
    }
}

fn settings(args: &Args, sync_every_write: bool) -> Settings {
    Settings {
        write_buffer_bytes: args.write_buffer_mb << 20,
        cache_bytes: args.cache_mb << 20,
        sync_every_write,
    }
}

fn bench_engine(run: &mut Run<'_>, kind: EngineKind, root: &Path) -> Result<(), String> {
    let label = format!("{kind:?}").to_lowercase();
    let fresh = |name: &str, sync: bool| -> Result<Box<dyn Engine>, String> {
        let dir = root.join(format!("{label}-{name}"));
        open_engine(kind == EngineKind::Dougdb, &dir, settings(run.args, sync))
    };
    let db = fresh("fillseq", false)?;
    run.fill(db.as_ref(), "fillseq", run.args.num, true);
    drop(db);

    let db = fresh("fillrandom", false)?;
    run.fill(db.as_ref(), "fillrandom", run.args.num, false);
    run.fill(db.as_ref(), "overwrite", run.args.num, false);
    run.read(db.as_ref(), "readrandom", false);
    run.read(db.as_ref(), "readmissing", true);
    run.seek(db.as_ref());
    run.delete(db.as_ref());
    drop(db);

    let db = fresh("fillsync", true)?;
    let n = run.args.sync_num;
    run.fill(db.as_ref(), "fillsync", n, false);
    Ok(())
}

fn main() {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(rand::random);
    println!(
        "db_bench: num={} value_size={} key_size={KEY_LEN} sync_num={} write_buffer={} MiB cache={} MiB seed={seed}",
        args.num, args.value_size, args.sync_num, args.write_buffer_mb, args.cache_mb
    );
    let tmp;
    let root = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = match tempfile::tempdir() {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("db_bench: cannot make a temporary directory: {e}");
                    std::process::exit(1);
                }
            };
            tmp.path().to_path_buf()
        }
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let values = Values::new(&mut rng, args.value_size);
    let mut run = Run {
        args: &args,
        rng,
        values,
        rows: Vec::new(),
    };
    let started = Instant::now();
    for &kind in &args.engines {
        if let Err(e) = bench_engine(&mut run, kind, &root) {
            eprintln!("db_bench: {kind:?} failed: {e}");
            std::process::exit(1);
        }
    }
    println!(
        "\nsummary (seed {seed}, {:.1} s):",
        started.elapsed().as_secs_f64()
    );
    print_table(&run.rows);
}
