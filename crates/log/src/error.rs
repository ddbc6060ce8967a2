use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("log i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the log stopped accepting writes after a failed write or fsync; restart to recover: {0}"
    )]
    Poisoned(String),
    #[error("record of {0} bytes is larger than the log's limit")]
    RecordTooLarge(usize),
    #[error("an empty record cannot be appended (empty is how erased records read)")]
    EmptyRecord,
    #[error("partition {0} does not exist")]
    NoSuchPartition(u16),
    #[error("offset {offset} is beyond the end ({end}) of partition {partition}")]
    OffsetOutOfRange {
        partition: u16,
        offset: u64,
        end: u64,
    },
    #[error("record at {location} is damaged: {reason}")]
    Corrupt { location: String, reason: String },
    #[error("log metadata in {path} is invalid: {reason}")]
    Meta { path: PathBuf, reason: String },
    #[error("the log writer has shut down")]
    Closed,
}

impl LogError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> LogError {
        let path = path.into();
        move |source| LogError::Io { path, source }
    }
}
