//! Choosing the blob store by `storage.blob_url`, once at start-up: a local folder → [`FsStore`], `s3://…` →
//! [`ObjectBlobStore`].

use std::path::PathBuf;
use std::sync::Arc;

use flick_domain::config::StorageConfig;
use flick_domain::ports::{BlobKey, Store, StoreError};

use crate::fs::FsStore;
use crate::object::{ObjectBlobStore, ObjectStoreSetupError};

/// Why the blob store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BlobStoreError {
    #[error("cannot use the blob folder {path}: {source}")]
    Folder { path: String, source: std::io::Error },
    #[error(transparent)]
    ObjectStore(#[from] ObjectStoreSetupError),
}

/// The blob store in use. Cheap to clone.
#[derive(Debug, Clone)]
pub enum BlobStore {
    Local(FsStore),
    Object(ObjectBlobStore),
}

impl BlobStore {
    /// Opens what `storage.blob_url` names (unset: the data folder).
    pub fn open(storage: &StorageConfig) -> Result<BlobStore, BlobStoreError> {
        match storage.blob_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) if url.starts_with("s3://") => {
                Ok(BlobStore::Object(ObjectBlobStore::from_s3_url(url, &storage.s3)?))
            }
            other => {
                let root = other.map_or_else(|| storage.data_dir.clone(), PathBuf::from);
                FsStore::new(root.clone())
                    .map(BlobStore::Local)
                    .map_err(|source| BlobStoreError::Folder { path: root.display().to_string(), source })
            }
        }
    }

    /// The store as a shared port.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            BlobStore::Local(s) => Arc::new(s.clone()),
            BlobStore::Object(s) => Arc::new(s.clone()),
        }
    }

    /// Where upload bodies are written before they are handed to the store: beside the blobs on local disk (so a
    /// rename moves them in), else `{data_dir}/tmp` (a cache that only this process uses).
    pub fn scratch_dir(&self, data_dir: &std::path::Path) -> PathBuf {
        match self {
            BlobStore::Local(s) => s.scratch_dir(),
            BlobStore::Object(_) => data_dir.join("tmp"),
        }
    }

    /// True when other machines may see the same blobs (so no process may assume it is alone with them).
    pub fn is_shared(&self) -> bool {
        matches!(self, BlobStore::Object(_))
    }

    /// Checks that the store answers (start-up, `/readyz`).
    pub async fn check(&self) -> Result<(), StoreError> {
        match self {
            BlobStore::Local(s) => s.len(&BlobKey::new("readyz-probe")?).await.map(drop),
            BlobStore::Object(s) => s.check().await,
        }
    }

    /// A short description for logs: the folder or the `s3://` URL.
    pub fn describe(&self) -> String {
        match self {
            BlobStore::Local(s) => s.root().display().to_string(),
            BlobStore::Object(s) => s.url().to_owned(),
        }
    }
}
