//! `sim`: runs many simulator seeds (what `make sim SEEDS=N` calls).
//!
//! Usage: `sim [--seeds N] [--start S] [--threads T]`. Prints progress and, on failure,
//! the first failing seed with its replay command; exits non-zero then.

use std::process::ExitCode;

use dougdb_sim::sweep::sweep;

fn arg(args: &[String], name: &str, default: u64) -> Result<u64, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .ok_or_else(|| format!("{name} needs a value"))?
            .parse()
            .map_err(|e| format!("{name}: {e}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = (|| -> Result<(u64, u64, u64), String> {
        Ok((
            arg(&args, "--seeds", 10_000)?,
            arg(&args, "--start", 0)?,
            arg(&args, "--threads", 2)?,
        ))
    })();
    let (seeds, start, threads) = match parsed {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sim: {e}\nusage: sim [--seeds N] [--start S] [--threads T]");
            return ExitCode::from(2);
        }
    };
    println!("sim: seeds {start}..{} on {threads} threads", start + seeds);
    let every = (seeds / 20).max(1);
    let sum = sweep(start, seeds, threads as usize, every, &|n, s| {
        println!(
            "  {n}/{seeds} seeds, {} passed, max liveness {} ticks",
            s.passed, s.max_liveness_ticks
        );
    });
    println!(
        "sim: {} passed in {:.1}s ({} steps, {} client ops acknowledged, worst liveness after heal {} ticks)",
        sum.passed, sum.secs, sum.steps, sum.ops_ok, sum.max_liveness_ticks
    );
    match sum.failures.first() {
        None => ExitCode::SUCCESS,
        Some(f) => {
            println!("FIRST FAILING {f}");
            ExitCode::FAILURE
        }
    }
}
