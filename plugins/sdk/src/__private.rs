//! The runtime behind the macros' exports: allocation, decoding the host's buffers with
//! `dougdb-plugin-abi`, encoding the answers. Not for plugin authors.
//!
//! Pointers cross the ABI as `i32` offsets into this module's linear memory. This is the
//! only module of the guest side with `unsafe`: turning those offsets into slices.
#![allow(unsafe_code)]

use std::alloc::{Layout, alloc as raw_alloc, dealloc};
use std::sync::Once;

use dougdb_plugin_abi::{
    CompactionTask, LevelsSummary, decode_keys, decode_summary, encode_task, pack_ptr_len,
};

pub use dougdb_plugin_abi::ABI_VERSION;

/// Every buffer is 8-aligned, so the host may store any fixed-width field.
const ALIGN: usize = 8;

fn layout(size: usize) -> Layout {
    // `size.max(1)`: a zero-size allocation is undefined; 8 is a power of two, and sizes
    // come from an i32, so the layout is always valid.
    Layout::from_size_align(size.max(1), ALIGN).unwrap_or(Layout::new::<u64>())
}

/// `dougdb_alloc`: `size` bytes, 8-aligned; traps when the memory cap is reached.
pub fn alloc(size: i32) -> i32 {
    let size = usize::try_from(size).unwrap_or(0);
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { raw_alloc(layout(size)) };
    if ptr.is_null() {
        std::alloc::handle_alloc_error(layout(size));
    }
    ptr as usize as i32
}

/// `dougdb_free`: releases what [`alloc`] returned for the same `size`.
pub fn free(ptr: i32, size: i32) {
    let size = usize::try_from(size).unwrap_or(0);
    // SAFETY: the ABI requires `ptr` to come from `dougdb_alloc(size)` (the host's buffers,
    // or the outputs below, which are allocated the same way).
    unsafe { dealloc(ptr as u32 as usize as *mut u8, layout(size)) };
}

/// The bytes the host wrote at `ptr..ptr + len`.
fn input<'a>(ptr: i32, len: i32) -> &'a [u8] {
    let len = usize::try_from(len).unwrap_or(0);
    if len == 0 {
        return &[];
    }
    // SAFETY: the host allocated `len` bytes at `ptr` with `dougdb_alloc`, wrote them, and
    // frees them only after this call returns; nothing else aliases them meanwhile.
    unsafe { std::slice::from_raw_parts(ptr as u32 as usize as *const u8, len) }
}

/// Copies `bytes` into a fresh [`alloc`] buffer the host reads, then frees.
fn output(bytes: &[u8]) -> i64 {
    let ptr = alloc(i32::try_from(bytes.len()).unwrap_or(i32::MAX));
    // SAFETY: `ptr` was just allocated with room for `bytes.len()` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr as u32 as usize as *mut u8, bytes.len())
    };
    pack_ptr_len(ptr as u32, u32::try_from(bytes.len()).unwrap_or(u32::MAX))
}

/// Sends the panic message to the host's log before the trap, so the host's error says why.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| crate::log::error(&info.to_string())));
    });
}

/// `dougdb_route`: decodes the keys, calls `f` once per key, encodes the shard indexes.
pub fn route(ptr: i32, len: i32, shard_count: i32, f: fn(&[u8], u32) -> u32) -> i64 {
    install_panic_hook();
    let keys = match decode_keys(input(ptr, len)) {
        Ok(keys) => keys,
        Err(err) => panic!("dougdb_route: bad keys buffer: {err}"),
    };
    let shard_count = shard_count as u32;
    let out_len = 4 * keys.len();
    let out_ptr = alloc(i32::try_from(out_len).unwrap_or(i32::MAX));
    // SAFETY: `out_ptr` was just allocated with room for `out_len` bytes and is not aliased.
    let out =
        unsafe { std::slice::from_raw_parts_mut(out_ptr as u32 as usize as *mut u8, out_len) };
    for (slot, key) in out.chunks_exact_mut(4).zip(keys) {
        slot.copy_from_slice(&f(key, shard_count).to_le_bytes());
    }
    pack_ptr_len(out_ptr as u32, out_len as u32)
}

/// `dougdb_pick`: decodes the summary, calls `f`, encodes its answer.
pub fn pick(ptr: i32, len: i32, f: fn(&LevelsSummary) -> Option<CompactionTask>) -> i64 {
    install_panic_hook();
    let summary = match decode_summary(input(ptr, len)) {
        Ok(summary) => summary,
        Err(err) => panic!("dougdb_pick: bad summary buffer: {err}"),
    };
    let mut out = Vec::new();
    encode_task(f(&summary).as_ref(), &mut out);
    output(&out)
}

/// `dougdb_init`: 0 when `f` accepts the configuration; otherwise logs why and returns 1.
pub fn init(ptr: i32, len: i32, f: fn(&[u8]) -> Result<(), String>) -> i32 {
    install_panic_hook();
    match f(input(ptr, len)) {
        Ok(()) => 0,
        Err(reason) => {
            crate::log::error(&reason);
            1
        }
    }
}
