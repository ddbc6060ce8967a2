use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Log(#[from] percorso_log::LogError),
    #[error("data directory {0} is in use by another percorso process (serve or import); stop it or send the events through its HTTP API")]
    Locked(PathBuf),
    #[error("{path}: {reason}")]
    BadFile { path: PathBuf, reason: String },
    #[error("invalid source name '{0}': use 1-64 letters, digits, '-', '_' or '.'")]
    BadSourceName(String),
    #[error("a source named '{0}' already exists")]
    SourceExists(String),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] percorso_store::StoreError),
    #[error("stored event at {location} cannot be decoded: {reason}")]
    Decode { location: String, reason: String },
}

impl CollectError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CollectError {
        let path = path.into();
        move |source| CollectError::Io { path, source }
    }
}
