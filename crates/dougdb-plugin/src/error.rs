//! Every way a plugin can fail to load or to run; each variant names the plugin.

use std::path::PathBuf;

/// A plugin failed to load or to run. The host stays usable after any of these.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The bytes are not a core wasm module (empty, text, a component, garbage).
    #[error("plugin {plugin}: not a wasm module: {reason}")]
    NotWasm {
        /// The plugin's name.
        plugin: String,
        /// What is wrong with the bytes.
        reason: String,
    },
    /// The module is wasm but does not validate or compile.
    #[error("plugin {plugin}: does not compile: {message}")]
    Compile {
        /// The plugin's name.
        plugin: String,
        /// The compiler's message.
        message: String,
    },
    /// The version marker export returned another ABI version.
    #[error("plugin {plugin}: ABI version {found}, but this host speaks version {expected}")]
    BadAbi {
        /// The plugin's name.
        plugin: String,
        /// What the plugin's `dougdb_abi_version` returned.
        found: i32,
        /// [`dougdb_plugin_abi::ABI_VERSION`].
        expected: i32,
    },
    /// A required export is absent.
    #[error("plugin {plugin}: missing export `{export}`")]
    MissingExport {
        /// The plugin's name.
        plugin: String,
        /// The missing export's name.
        export: String,
    },
    /// An export or import has the wrong kind or type.
    #[error("plugin {plugin}: `{item}` is {found}, expected {expected}")]
    BadSignature {
        /// The plugin's name.
        plugin: String,
        /// The export or import.
        item: String,
        /// The type ABI v1 requires.
        expected: String,
        /// The type the module has.
        found: String,
    },
    /// An import other than `dougdb.log` (WASI, `env`, ...).
    #[error("plugin {plugin}: import `{module}.{name}` is not allowed (only `dougdb.log` is)")]
    ForbiddenImport {
        /// The plugin's name.
        plugin: String,
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
    },
    /// The plugin's init refused its configuration, or a configuration was given to a plugin
    /// that takes none.
    #[error("plugin {plugin}: init failed: {reason}")]
    Init {
        /// The plugin's name.
        plugin: String,
        /// Why, as the plugin logged it when it did.
        reason: String,
    },
    /// The plugin trapped (a panic, `unreachable`, an out-of-bounds access, stack overflow).
    #[error("plugin {plugin}: trapped: {message}")]
    Trap {
        /// The plugin's name.
        plugin: String,
        /// The trap, and the plugin's last error log line (its panic message) when any.
        message: String,
    },
    /// The call used up its fuel budget (an endless or too slow loop).
    #[error("plugin {plugin}: ran out of fuel (budget {fuel})")]
    OutOfFuel {
        /// The plugin's name.
        plugin: String,
        /// The budget of the call.
        fuel: u64,
    },
    /// The plugin asked for more linear memory than the host allows.
    #[error("plugin {plugin}: memory limit of {limit_bytes} bytes reached")]
    MemoryLimit {
        /// The plugin's name.
        plugin: String,
        /// [`crate::Limits::memory_bytes_max`].
        limit_bytes: u64,
    },
    /// The plugin answered something ABI v1 does not allow (an out-of-range shard, a pointer
    /// past its memory, a task naming unknown tables, ...).
    #[error("plugin {plugin}: bad output: {reason}")]
    BadOutput {
        /// The plugin's name.
        plugin: String,
        /// What was wrong.
        reason: String,
    },
    /// The caller's request is outside the limits (zero shards, too many keys, ...).
    #[error("plugin {plugin}: invalid call: {reason}")]
    InvalidArgument {
        /// The plugin's name.
        plugin: String,
        /// What was wrong.
        reason: String,
    },
    /// Reading the plugin's file failed.
    #[error("plugin {plugin}: cannot read {path}: {source}")]
    Io {
        /// The plugin's name.
        plugin: String,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The wasmtime engine could not be set up with the given limits.
    #[error("plugin host: engine setup failed: {message}")]
    Engine {
        /// wasmtime's message.
        message: String,
    },
}

impl PluginError {
    /// The plugin the error is about (empty for [`PluginError::Engine`]).
    pub fn plugin(&self) -> &str {
        match self {
            Self::NotWasm { plugin, .. }
            | Self::Compile { plugin, .. }
            | Self::BadAbi { plugin, .. }
            | Self::MissingExport { plugin, .. }
            | Self::BadSignature { plugin, .. }
            | Self::ForbiddenImport { plugin, .. }
            | Self::Init { plugin, .. }
            | Self::Trap { plugin, .. }
            | Self::OutOfFuel { plugin, .. }
            | Self::MemoryLimit { plugin, .. }
            | Self::BadOutput { plugin, .. }
            | Self::InvalidArgument { plugin, .. }
            | Self::Io { plugin, .. } => plugin,
            Self::Engine { .. } => "",
        }
    }
}

/// `Result` with [`PluginError`].
pub type Result<T, E = PluginError> = std::result::Result<T, E>;
