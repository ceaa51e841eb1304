//! Before a byte moves: the destination is usable and names neither of the source's stores, the source is locked
//! against a running Flick, and the scratch folder is empty.

use super::*;

/// The destination, checked: its URLs are usable and name neither of the source's stores.
pub(super) struct Destination {
    /// The source's storage settings with the destination's blob URL (its `s3` settings are the destination's too).
    pub(super) storage: StorageConfig,
}

impl Destination {
    pub(super) fn check(config: &Config, options: &Options, source_db_url: &str) -> Result<Destination, MigrateError> {
        Backend::of_url(&options.to_database).map_err(|e| MigrateError::DestinationDatabaseUrl(e.to_string()))?;
        if same_database(source_db_url, &options.to_database) {
            return Err(MigrateError::SameDatabase(redact(source_db_url)));
        }
        let to_blobs = options.to_blobs.trim();
        if to_blobs.is_empty() || (to_blobs.contains("://") && !to_blobs.starts_with("s3://")) {
            return Err(MigrateError::DestinationBlobUrl(options.to_blobs.clone()));
        }
        let source = BlobSpec::of(config.storage.blob_url.as_deref(), &config.storage.data_dir);
        if source == BlobSpec::of(Some(to_blobs), &config.storage.data_dir) {
            return Err(MigrateError::SameBlobs(source.to_string()));
        }
        Ok(Destination { storage: StorageConfig { blob_url: Some(to_blobs.to_owned()), ..config.storage.clone() } })
    }
}

/// Where blobs live, normalised so that two spellings of the same place compare equal.
#[derive(Debug, PartialEq)]
pub(super) enum BlobSpec {
    Bucket(String),
    Folder(PathBuf),
}

impl BlobSpec {
    pub(super) fn of(url: Option<&str>, data_dir: &Path) -> BlobSpec {
        match url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) if u.starts_with("s3://") => BlobSpec::Bucket(u.trim_end_matches('/').to_owned()),
            Some(u) => BlobSpec::Folder(identity(Path::new(u))),
            None => BlobSpec::Folder(identity(data_dir)),
        }
    }
}

impl std::fmt::Display for BlobSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobSpec::Bucket(url) => f.write_str(url),
            BlobSpec::Folder(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Whether two database URLs name the same database (SQLite files by their resolved path).
pub(super) fn same_database(a: &str, b: &str) -> bool {
    match (sqlite_path(a), sqlite_path(b)) {
        (Some(a), Some(b)) => identity(&a) == identity(&b),
        (None, None) => a.trim().trim_end_matches('/') == b.trim().trim_end_matches('/'),
        _ => false,
    }
}

/// The file of a `sqlite:` URL.
pub(super) fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    Some(PathBuf::from(rest.split('?').next().unwrap_or(rest)))
}

/// A path as the filesystem resolves it (symbolic links, `..`); what does not exist yet is resolved from the nearest
/// folder that does.
pub(super) fn identity(path: &Path) -> PathBuf {
    if let Ok(resolved) = path.canonicalize() {
        return resolved;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => identity(parent).join(name),
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
    }
}

/// Takes the data folder's lock exclusively, which only succeeds while no Flick process uses the folder.
pub(super) fn lock_source(data_dir: &Path) -> Result<File, MigrateError> {
    if !data_dir.is_dir() {
        return Err(MigrateError::NoDataDir(data_dir.to_owned()));
    }
    let path = data_dir.join("flick.lock");
    let lock_err = |source| MigrateError::Lock { path: path.clone(), source };
    let file = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&path).map_err(lock_err)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(MigrateError::SourceInUse(data_dir.to_owned())),
        Err(TryLockError::Error(e)) => Err(lock_err(e)),
    }
}

/// Empties the folder blobs pass through (a crashed run's leftovers included).
pub(super) async fn reset_scratch(scratch: &Path) -> Result<(), MigrateError> {
    let err = |source| MigrateError::Scratch { path: scratch.to_owned(), source };
    match tokio::fs::remove_dir_all(scratch).await {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    tokio::fs::create_dir_all(scratch).await.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_stores_are_recognised_however_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let db = format!("sqlite://{}/flick.db", data.display());
        let other_spelling = format!("sqlite://{}/../data/flick.db?mode=rwc", data.display());
        assert!(same_database(&db, &other_spelling));
        assert!(!same_database(&db, "postgres://u@h/flick"));
        assert!(same_database("postgres://u@h/flick", "postgres://u@h/flick/"));
        assert_eq!(BlobSpec::of(None, &data), BlobSpec::of(Some(&format!("{}/", data.display())), &data));
        assert_eq!(BlobSpec::of(Some("s3://b/p/"), &data), BlobSpec::of(Some("s3://b/p"), &data));
        assert_ne!(BlobSpec::of(Some("s3://b/p"), &data), BlobSpec::of(Some("s3://b/q"), &data));
    }
}
