//! Errors of the columnar store, the journey kernels and SQL.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("{0}")]
    Schema(String),
    #[error("event log: {0}")]
    Log(#[from] percorso_log::LogError),
    /// A query the caller got wrong: an unknown column, a bad step.
    #[error("{0}")]
    Invalid(String),
    /// SQL the engine refused or could not run.
    #[error("{0}")]
    Sql(String),
    /// A bug or a crash inside the engine, not the caller's fault.
    #[error("internal error: {0}")]
    Internal(String),
    #[error("manifest {path}: {message}")]
    Manifest { path: PathBuf, message: String },
}

impl AnalyticsError {
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AnalyticsError + '_ {
        move |source| AnalyticsError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
