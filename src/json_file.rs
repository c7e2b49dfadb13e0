//! Broker metadata files under `storePathRootDir/config/` (topics.json,
//! subscriptionGroup.json, consumerOffset.json): written whole to a temporary file,
//! fsynced, the previous version kept as `.bak`, then renamed into place; on load an
//! unreadable file falls back to its `.bak`, as RocketMQ's ConfigManager does.

use std::path::{Path, PathBuf};

/// Why a metadata file could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum JsonFileError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Neither the file nor its `.bak` parses; `reason` names the file and the parse error.
    #[error("corrupt record at offset -1: {reason}")]
    Unreadable { reason: String },
}

impl JsonFileError {
    fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        JsonFileError::Io {
            path: path.into(),
            source,
        }
    }
}

pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Writes `bytes` to `path` atomically, keeping the old file as `path.bak`.
pub fn store(path: &Path, bytes: &[u8]) -> Result<(), JsonFileError> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| JsonFileError::io(dir, e))?;
    }
    let tmp = with_suffix(path, ".tmp");
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        // A full disk: the file in place stays whole and nothing half-written is left.
        let _ = std::fs::remove_file(&tmp);
        return Err(JsonFileError::io(&tmp, e));
    }
    if path.exists() {
        let bak = with_suffix(path, ".bak");
        if std::fs::copy(path, &bak).is_err() {
            // A cut-short backup would be worse than none.
            let _ = std::fs::remove_file(&bak);
        }
    }
    std::fs::rename(&tmp, path).map_err(|e| JsonFileError::io(path, e))
}

/// Reads `path` with `parse`, falling back to `path.bak` when the file is missing, empty
/// or unreadable; `Ok(None)` when neither exists. If a file exists but neither it nor its
/// backup can be read, that is an error: starting empty would overwrite what is there.
pub fn load<T>(
    path: &Path,
    parse: impl Fn(&[u8]) -> Result<T, String>,
) -> Result<Option<T>, JsonFileError> {
    let mut failure = None;
    for candidate in [path.to_owned(), with_suffix(path, ".bak")] {
        match std::fs::read(&candidate) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(bytes) => match parse(&bytes) {
                Ok(v) => return Ok(Some(v)),
                Err(e) => {
                    tracing::error!(path = %candidate.display(), error = %e, "unreadable config file; trying its backup");
                    failure.get_or_insert(JsonFileError::Unreadable {
                        reason: format!("{}: {e}", candidate.display()),
                    });
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(JsonFileError::io(&candidate, e)),
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
