//! Layout of the data directory and the lock that keeps two writers apart.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::CollectError;

/// Paths inside a Percorso data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn create(&self) -> Result<(), CollectError> {
        std::fs::create_dir_all(&self.root).map_err(CollectError::io(&self.root))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn events(&self) -> PathBuf {
        self.root.join("events")
    }

    pub fn quarantine(&self) -> PathBuf {
        self.root.join("quarantine")
    }

    pub fn sources(&self) -> PathBuf {
        self.root.join("sources.json")
    }

    /// Computed traits and segments declared through the API.
    pub fn definitions(&self) -> PathBuf {
        self.root.join("definitions.json")
    }

    /// The state store: derived state kept on disk (rebuilt from the log
    /// when lost).
    pub fn state(&self) -> PathBuf {
        self.root.join("state")
    }

    /// Keys that keep personal data in the state store unreadable once
    /// their person is erased (the identity graph's and the profile
    /// engine's); they belong with `state` (a state store without them
    /// reads as empty).
    pub fn state_keys(&self) -> PathBuf {
        self.root.join("state-keys")
    }

    /// Ids of the profiles erased by privacy requests (no personal data).
    pub fn erased_profiles(&self) -> PathBuf {
        self.root.join("erased-profiles.jsonl")
    }

    pub fn admin_token(&self) -> PathBuf {
        self.root.join("admin-token")
    }

    /// Takes the directory's writer lock: one `serve` or `import` at a time
    /// may append to the log. Released when the returned guard drops.
    pub fn lock_for_writing(&self) -> Result<DataDirLock, CollectError> {
        self.create()?;
        let path = self.root.join("LOCK");
        let file = File::create(&path).map_err(CollectError::io(&path))?;
        match fs4::fs_std::FileExt::try_lock_exclusive(&file) {
            Ok(true) => Ok(DataDirLock { _file: file }),
            Ok(false) => Err(CollectError::Locked(self.root.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                Err(CollectError::Locked(self.root.clone()))
            }
            Err(e) => Err(CollectError::io(&path)(e)),
        }
    }
}

/// Holds the data directory's writer lock.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}
