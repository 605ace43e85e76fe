//! Messages to the host's log through the `dougdb.log` import (the only import a plugin may
//! have). A plugin that never logs has no import at all. Off wasm (unit tests of a plugin's
//! logic) messages go to stderr.

use dougdb_plugin_abi::LogLevel;

/// Logs `msg` at error level.
pub fn error(msg: &str) {
    write(LogLevel::Error, msg);
}

/// Logs `msg` at warn level.
pub fn warn(msg: &str) {
    write(LogLevel::Warn, msg);
}

/// Logs `msg` at info level.
pub fn info(msg: &str) {
    write(LogLevel::Info, msg);
}

/// Logs `msg` at debug level.
pub fn debug(msg: &str) {
    write(LogLevel::Debug, msg);
}

#[cfg(target_arch = "wasm32")]
fn write(level: LogLevel, msg: &str) {
    // The import declaration is the ABI: module `dougdb`, name `log`, (i32, i32, i32).
    #[allow(unsafe_code)]
    #[link(wasm_import_module = "dougdb")]
    unsafe extern "C" {
        #[link_name = "log"]
        fn dougdb_log(level: i32, ptr: i32, len: i32);
    }
    let len = i32::try_from(msg.len()).unwrap_or(i32::MAX);
    #[allow(unsafe_code)]
    // SAFETY: the host only reads `len` bytes at `ptr`, which `msg` owns for this call.
    unsafe {
        dougdb_log(level as i32, msg.as_ptr() as i32, len)
    };
}

#[cfg(not(target_arch = "wasm32"))]
fn write(level: LogLevel, msg: &str) {
    eprintln!("[plugin {level:?}] {msg}");
}
