//! Broker metadata files under `storePathRootDir/config/` (topics.json,
//! subscriptionGroup.json, consumerOffset.json): written whole to a temporary file,
//! fsynced, the previous version kept as `.bak`, then renamed into place; on load an
//! unreadable file falls back to its `.bak`, as RocketMQ's ConfigManager does.

use std::path::{Path, PathBuf};

use crate::store::{StoreError, StoreResult};

pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Writes `bytes` to `path` atomically, keeping the old file as `path.bak`.
pub fn store(path: &Path, bytes: &[u8]) -> StoreResult<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    }
    let tmp = with_suffix(path, ".tmp");
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| StoreError::io(&tmp, e))?;
        f.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
    }
    if path.exists() {
        let _ = std::fs::copy(path, with_suffix(path, ".bak"));
    }
    std::fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))
}

/// Reads `path` with `parse`, falling back to `path.bak` when the file is missing, empty
/// or unreadable; `Ok(None)` when neither exists. If a file exists but neither it nor its
/// backup can be read, that is an error: starting empty would overwrite what is there.
pub fn load<T>(path: &Path, parse: impl Fn(&[u8]) -> Result<T, String>) -> StoreResult<Option<T>> {
    let mut failure = None;
    for candidate in [path.to_owned(), with_suffix(path, ".bak")] {
        match std::fs::read(&candidate) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(bytes) => match parse(&bytes) {
                Ok(v) => return Ok(Some(v)),
                Err(e) => {
                    tracing::error!(path = %candidate.display(), error = %e, "unreadable config file; trying its backup");
                    failure.get_or_insert(StoreError::Corrupt {
                        offset: -1,
                        reason: format!("{}: {e}", candidate.display()),
                    });
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(&candidate, e)),
        }
    }
    failure.map_or(Ok(None), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_file_falls_back_to_its_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/topics.json");
        store(&path, b"first").unwrap();
        store(&path, b"second").unwrap();
        let parse = |b: &[u8]| {
            if b.starts_with(b"{") {
                Err("bad".to_string())
            } else {
                Ok(b.to_vec())
            }
        };
        assert_eq!(load(&path, parse).unwrap(), Some(b"second".to_vec()));
        std::fs::write(&path, b"{garbage").unwrap();
        assert_eq!(load(&path, parse).unwrap(), Some(b"first".to_vec()));
        assert_eq!(load(&dir.path().join("none.json"), parse).unwrap(), None);
        std::fs::write(with_suffix(&path, ".bak"), b"{also garbage").unwrap();
        assert!(
            load(&path, parse).is_err(),
            "nothing readable is an error, not an empty table"
        );
    }
}
