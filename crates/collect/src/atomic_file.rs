use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use crate::error::CollectError;

/// Replaces `path` with `body` so a crash leaves either the old or the new
/// content, never a mix. On Unix the file is readable by its owner only,
/// because these files hold write keys and tokens.
pub fn atomic_write(path: &Path, body: &[u8]) -> Result<(), CollectError> {
    let tmp = path.with_extension("tmp");
    let mut options = OpenOptions::new();
    options.create(true).write(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(CollectError::io(&tmp))?;
    file.write_all(body)
        .and_then(|()| file.sync_all())
        .map_err(CollectError::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(CollectError::io(path))?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(CollectError::io(dir))?;
    }
    Ok(())
}
