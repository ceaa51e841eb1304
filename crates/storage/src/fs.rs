//! [`Store`] on the local disk: a blob `a/b/c` is the file `{root}/a/b/c`.
//!
//! Writes go to a temporary name in the destination directory, are fsynced, then renamed into
//! place and the directory fsynced: a reader sees a whole blob or none, and an acknowledged write
//! survives a crash. Temporary names start with `.`, which no blob name may.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use flick_domain::ports::{Blob, BlobKey, ByteRange, Store, StoreError};

use crate::file_read::is_absent;
use crate::random::random_hex;

/// The scratch directory under the root (same filesystem, so files made there can be renamed in).
const SCRATCH: &str = "tmp";

/// Top-level names that belong to scratch space, not to blobs.
const RESERVED: [&str; 2] = [SCRATCH, "work"];

/// Blobs in a directory on the local disk.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    /// A store rooted at `root`, creating it and its `tmp/` scratch directory if missing.
    pub fn new(root: PathBuf) -> io::Result<FsStore> {
        fs::create_dir_all(root.join(SCRATCH))?;
        Ok(FsStore { root })
    }

    /// Where to make files that [`Store::put_file`] will move in: on the store's filesystem, so a rename suffices.
    pub fn scratch_dir(&self) -> PathBuf {
        self.root.join(SCRATCH)
    }

    /// The directory blobs live under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of a key. The key is already validated; this re-checks each part so that no key
    /// can reach outside the root, a temporary file, or the scratch directories.
    fn path_of(&self, key: &BlobKey) -> Result<PathBuf, StoreError> {
        let mut path = self.root.clone();
        for (i, part) in key.as_str().split('/').enumerate() {
            let plain = !part.is_empty()
                && !part.starts_with('.')
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
            if !plain || (i == 0 && RESERVED.contains(&part)) {
                return Err(StoreError::InvalidKey(key.as_str().to_owned()));
            }
            path.push(part);
        }
        Ok(path)
    }
}

#[async_trait]
impl Store for FsStore {
    async fn put_file(&self, key: &BlobKey, local: &Path) -> Result<(), StoreError> {
        let dest = self.path_of(key)?;
        let (root, local) = (self.root.clone(), local.to_path_buf());
        blocking(key, move || {
            let source = File::open(&local)?;
            if !source.metadata()?.is_file() {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
            }
            // The data must be on disk before a name that readers trust points at it.
            source.sync_all()?;
            drop(source);
            let dir = parent_of(&dest)?;
            ensure_dir(&root, dir)?;
            match fs::rename(&local, &dest) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                    tracing::debug!(from = %local.display(), "source on another filesystem; copying");
                    write_atomically(&dest, |out| io::copy(&mut File::open(&local)?, out).map(drop))?;
                    fs::remove_file(&local)?;
                }
                Err(e) => return Err(e),
            }
            sync_dir(dir)
        })
        .await
    }

    async fn put_bytes(&self, key: &BlobKey, bytes: Bytes) -> Result<(), StoreError> {
        let dest = self.path_of(key)?;
        let root = self.root.clone();
        blocking(key, move || {
            ensure_dir(&root, parent_of(&dest)?)?;
            write_atomically(&dest, |out| out.write_all(&bytes))
        })
        .await
    }

    async fn get(&self, key: &BlobKey, range: Option<ByteRange>) -> Result<Option<Blob>, StoreError> {
        let path = self.path_of(key)?;
        let io_err = |source| StoreError::Io { key: key.to_string(), source };
        let Some((file, total_len)) = crate::file_read::open(path).await.map_err(io_err)? else { return Ok(None) };
        let (start, len) = match range {
            None => (0, total_len),
            Some(r) if r.start <= r.end && r.end < total_len => (r.start, r.end - r.start + 1),
            Some(_) => return Err(StoreError::RangeNotSatisfiable { total_len }),
        };
        // Exactly the length announced, whatever happens to the file meanwhile.
        let body = crate::file_read::immutable_range(file, start, len).await.map_err(io_err)?;
        Ok(Some(Blob { total_len, range, body }))
    }

    async fn len(&self, key: &BlobKey) -> Result<Option<u64>, StoreError> {
        match tokio::fs::metadata(self.path_of(key)?).await {
            Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
            Ok(_) => Ok(None),
            Err(e) if is_absent(&e) => Ok(None),
            Err(source) => Err(StoreError::Io { key: key.to_string(), source }),
        }
    }

    async fn fetch_to(&self, key: &BlobKey, dest: &Path) -> Result<(), StoreError> {
        let source = self.path_of(key)?;
        let dest = dest.to_path_buf();
        blocking(key, move || {
            if !fs::metadata(&source)?.is_file() {
                return Err(io::Error::new(io::ErrorKind::NotFound, "blob is not a file"));
            }
            match fs::remove_file(&dest) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            // A hard link costs nothing; blobs are only ever replaced by rename, never written
            // in place, so the link keeps showing the bytes it was made from.
            if let Err(e) = fs::hard_link(&source, &dest) {
                tracing::debug!(error = %e, "hard link refused; copying");
                fs::copy(&source, &dest)?;
            }
            Ok(())
        })
        .await
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError> {
        match tokio::fs::remove_file(self.path_of(key)?).await {
            Ok(()) => Ok(()),
            Err(e) if is_absent(&e) => Ok(()),
            Err(source) => Err(StoreError::Io { key: key.to_string(), source }),
        }
    }

    async fn delete_prefix(&self, prefix: &BlobKey) -> Result<(), StoreError> {
        // std's remove_dir_all removes symlinks themselves and never follows them out of the tree.
        match tokio::fs::remove_dir_all(self.path_of(prefix)?).await {
            Ok(()) => Ok(()),
            Err(e) if is_absent(&e) => Ok(()),
            Err(source) => Err(StoreError::Io { key: prefix.to_string(), source }),
        }
    }

    async fn list(&self, prefix: &BlobKey) -> Result<Vec<String>, StoreError> {
        let dir = self.path_of(prefix)?;
        let io_err = |source| StoreError::Io { key: prefix.to_string(), source };
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(entries) => entries,
            Err(e) if is_absent(&e) => return Ok(Vec::new()),
            Err(e) => return Err(io_err(e)),
        };
        let mut names = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(io_err)? {
            // Names that are not UTF-8 cannot be keys; dot names are temporary files.
            if let Ok(name) = entry.file_name().into_string()
                && !name.starts_with('.')
            {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }
}

/// Runs blocking file work off the async threads, reporting failures against `key`.
async fn blocking<T: Send + 'static>(
    key: &BlobKey,
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<T, StoreError> {
    let result = tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| Err(io::Error::other(e.to_string())));
    result.map_err(|source| StoreError::Io { key: key.to_string(), source })
}

/// Writes a new file next to `dest` under a temporary name, fsyncs it, renames it over `dest`
/// and fsyncs the directory. On failure the temporary file is removed and `dest` is untouched.
fn write_atomically(dest: &Path, fill: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    let dir = parent_of(dest)?;
    let name = dest.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    // Cut long names so the temporary name stays within the filesystem's name limit.
    let stem: String = name.chars().take(64).collect();
    let temp = dir.join(format!(".{stem}.tmp-{}", random_hex(8)?));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&temp)?;
        fill(&mut file)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, dest)?;
        sync_dir(dir)
    })();
    if result.is_err()
        && let Err(e) = fs::remove_file(&temp)
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(temp = %temp.display(), error = %e, "cannot remove temporary file");
    }
    result
}

/// Creates `dir` if missing and fsyncs the directories above it, so the new directory entries
/// are durable too (up to and including `root`, which exists).
fn ensure_dir(root: &Path, dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    let mut above = dir.parent();
    while let Some(d) = above {
        sync_dir(d)?;
        if d == root {
            break;
        }
        above = d.parent();
    }
    Ok(())
}

/// Makes a directory's entries (a rename, a new file) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn parent_of(path: &Path) -> io::Result<&Path> {
    path.parent().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent directory"))
}
