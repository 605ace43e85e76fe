//! Shared measurement plumbing for DougDB's benchmark binaries: latency histograms,
//! process peak memory, bytes on disk, and the result table every benchmark prints.

pub mod report;

pub use report::{Measurement, Recorder, dir_size_bytes, peak_rss_bytes, print_table};
