//! The one error type of `dougdb-proto`.

/// Errors of this crate's helpers (the generated code reports through `tonic::Status`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A status's details are not an encoded `ErrorDetail`.
    #[error("undecodable error detail in a {code:?} status: {source}")]
    BadErrorDetail {
        /// Code of the status that carried them.
        code: tonic::Code,
        /// What prost reported.
        #[source]
        source: prost::DecodeError,
    },
}
