//! Sources and their write keys, kept in `sources.json` in the data
//! directory. The file is shared by the server and the CLI: writers hold a
//! lock while they rewrite it, and the server reloads it when it changes.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::CollectError;

/// Where events come from; its write key authenticates the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub id: String,
    pub name: String,
    pub write_key: String,
    pub created_at: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SourcesFile {
    sources: Vec<Source>,
}

#[derive(Debug, Default)]
struct Loaded {
    by_key: HashMap<String, Arc<Source>>,
    list: Vec<Arc<Source>>,
    modified: Option<SystemTime>,
}

/// The sources of one data directory.
#[derive(Debug)]
pub struct SourceRegistry {
    path: PathBuf,
    loaded: RwLock<Loaded>,
}

impl SourceRegistry {
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, CollectError> {
        let registry = Self {
            path: path.into(),
            loaded: RwLock::new(Loaded::default()),
        };
        registry.reload()?;
        Ok(registry)
    }

    /// The source a write key belongs to. An unknown key rereads the file
    /// first if it changed, so a source created by the CLI works at once.
    pub fn by_write_key(&self, key: &str) -> Option<Arc<Source>> {
        if let Some(source) = self.read().by_key.get(key) {
            return Some(source.clone());
        }
        if self.modified_on_disk() != self.read().modified {
            if let Err(e) = self.reload() {
                tracing::warn!(error = %e, "could not reload sources");
            }
        }
        self.read().by_key.get(key).cloned()
    }

    pub fn by_name(&self, name: &str) -> Result<Option<Arc<Source>>, CollectError> {
        self.reload()?;
        Ok(self.read().list.iter().find(|s| s.name == name).cloned())
    }

    pub fn list(&self) -> Result<Vec<Arc<Source>>, CollectError> {
        self.reload()?;
        Ok(self.read().list.clone())
    }

    /// Creates a source with a fresh write key.
    pub fn create(&self, name: &str, created_at: String) -> Result<Arc<Source>, CollectError> {
        validate_name(name)?;
        let _lock = self.lock_file()?;
        let mut file = read_file(&self.path)?;
        if file.sources.iter().any(|s| s.name == name) {
            return Err(CollectError::SourceExists(name.to_owned()));
        }
        let source = Source {
            id: format!("src_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]),
            name: name.to_owned(),
            write_key: uuid::Uuid::new_v4().simple().to_string(),
            created_at,
        };
        file.sources.push(source.clone());
        write_file(&self.path, &file)?;
        self.reload()?;
        Ok(Arc::new(source))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.loaded.read().unwrap_or_else(|e| e.into_inner())
    }

    fn modified_on_disk(&self) -> Option<SystemTime> {
        std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok()
    }

    fn reload(&self) -> Result<(), CollectError> {
        let modified = self.modified_on_disk();
        let file = read_file(&self.path)?;
        let list: Vec<Arc<Source>> = file.sources.into_iter().map(Arc::new).collect();
        let by_key = list
            .iter()
            .map(|s| (s.write_key.clone(), s.clone()))
            .collect();
        *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = Loaded {
            by_key,
            list,
            modified,
        };
        Ok(())
    }

    fn lock_file(&self) -> Result<File, CollectError> {
        let path = self.path.with_extension("lock");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(CollectError::io(dir))?;
        }
        let file = File::create(&path).map_err(CollectError::io(&path))?;
        fs4::fs_std::FileExt::lock_exclusive(&file).map_err(CollectError::io(&path))?;
        Ok(file)
    }
}

fn validate_name(name: &str) -> Result<(), CollectError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(CollectError::BadSourceName(name.to_owned()))
    }
}

fn read_file(path: &Path) -> Result<SourcesFile, CollectError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| CollectError::BadFile {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SourcesFile::default()),
        Err(e) => Err(CollectError::io(path)(e)),
    }
}

/// Replaces the file atomically: write a sibling, sync it, rename over.
fn write_file(path: &Path, file: &SourcesFile) -> Result<(), CollectError> {
    let body = serde_json::to_vec_pretty(file).map_err(|e| CollectError::BadFile {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    crate::atomic_write(path, &body)
}
