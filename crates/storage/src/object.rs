//! [`Store`] on an S3-compatible object store (AWS S3, R2, MinIO, Garage, Ceph) through the `object_store` crate:
//! a blob `a/b/c` is the object `{prefix}/a/b/c` of the bucket.
//!
//! An S3 PUT (or the completion of a multipart upload) is atomic and durable when it returns, which is what the
//! [`Store`] contract asks of a write. The bucket needs no public access: Flick streams every byte viewers get.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use flick_domain::config::S3Config;
use flick_domain::ports::{Blob, BlobKey, ByteRange, Store, StoreError};
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Files up to this size are sent in one PUT; larger ones as a multipart upload of parts this size.
const PART: usize = 8 * 1024 * 1024;
/// Parts of one multipart upload in flight at once.
const PARTS_IN_FLIGHT: usize = 4;

/// Why the object store could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ObjectStoreSetupError {
    #[error("storage.blob_url {0:?} is not s3://BUCKET or s3://BUCKET/PREFIX")]
    Url(String),
    #[error("cannot set up the S3 client: {0}")]
    Client(String),
}

/// Blobs in a bucket of an S3-compatible object store, under an optional key prefix.
#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    inner: Arc<dyn ObjectStore>,
    prefix: Option<ObjectPath>,
    /// Shown in logs and errors: `s3://bucket/prefix`.
    url: String,
}

impl ObjectBlobStore {
    /// Connects to the bucket an `s3://BUCKET/PREFIX` URL names; `s3` fills in what the `AWS_*` variables do not.
    pub fn from_s3_url(url: &str, s3: &S3Config) -> Result<ObjectBlobStore, ObjectStoreSetupError> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| ObjectStoreSetupError::Url(url.to_owned()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        if bucket.is_empty() || (!prefix.is_empty() && BlobKey::new(prefix).is_err()) {
            return Err(ObjectStoreSetupError::Url(url.to_owned()));
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        // Also the name the AWS CLI and SDKs read (object_store itself reads AWS_ENDPOINT).
        if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(endpoint) = &s3.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let endpoint_is_http = s3
            .endpoint
            .as_deref()
            .or(std::env::var("AWS_ENDPOINT_URL").ok().as_deref())
            .is_some_and(|e| e.starts_with("http://"));
        if let Some(region) = &s3.region {
            builder = builder.with_region(region);
        }
        if let Some(key) = &s3.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &s3.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        builder = builder
            .with_virtual_hosted_style_request(s3.virtual_hosted_style)
            // Retries ride out a passing error, but a store that is down must surface in seconds (start-up,
            // /readyz, a viewer's request), not after the library's default three minutes.
            .with_retry(RetryConfig { max_retries: 3, retry_timeout: Duration::from_secs(15), ..Default::default() })
            .with_client_options(
                ClientOptions::new().with_allow_http(endpoint_is_http).with_connect_timeout(Duration::from_secs(5)),
            );
        let client = builder.build().map_err(|e| ObjectStoreSetupError::Client(e.to_string()))?;
        Ok(ObjectBlobStore::new(Arc::new(client), prefix, url.trim_end_matches('/').to_owned()))
    }

    /// A store over any `object_store` back end, under `prefix` (empty: the bucket's root).
    pub fn new(inner: Arc<dyn ObjectStore>, prefix: &str, url: String) -> ObjectBlobStore {
        let prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        ObjectBlobStore { inner, prefix, url }
    }

    /// The URL the store was opened with, for logs.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn path_of(&self, key: &BlobKey) -> ObjectPath {
        match &self.prefix {
            // Keys are validated ([A-Za-z0-9._-] parts), so each part maps to itself.
            Some(prefix) => key.as_str().split('/').fold(prefix.clone(), |p, part| p.join(part)),
            None => ObjectPath::from(key.as_str()),
        }
    }

    /// Every blob under `prefix` (all of them when `None`), at any depth, as (key, length), in no set order.
    pub async fn keys_under(&self, prefix: Option<&BlobKey>) -> Result<Vec<(String, u64)>, StoreError> {
        let base = match prefix {
            Some(p) => Some(self.path_of(p)),
            None => self.prefix.clone(),
        };
        let skip = self.prefix.as_ref().map_or(0, |p| p.parts().count());
        let what = prefix.map_or_else(|| "(all)".to_owned(), ToString::to_string);
        let metas: Vec<_> = self.inner.list(base.as_ref()).try_collect().await.map_err(|e| self.error(&what, e))?;
        Ok(metas
            .into_iter()
            .map(|m| {
                let key: Vec<String> = m.location.parts().skip(skip).map(|p| p.as_ref().to_owned()).collect();
                (key.join("/"), m.size)
            })
            .collect())
    }

    /// Checks that the bucket answers (for `/readyz` and start-up): a listing of at most a page.
    pub async fn check(&self) -> Result<(), StoreError> {
        self.inner.list_with_delimiter(self.prefix.as_ref()).await.map(drop).map_err(|e| self.error("(bucket)", e))
    }

    fn error(&self, key: impl std::fmt::Display, e: object_store::Error) -> StoreError {
        StoreError::Io { key: format!("{}/{key}", self.url), source: std::io::Error::other(e) }
    }
}

fn is_not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

/// A multipart upload that is aborted unless it was completed: at once on an error, in the background when its
/// future is dropped.
struct AbortOnDrop(Option<WriteMultipart>);

impl AbortOnDrop {
    async fn abort(&mut self) {
        if let Some(w) = self.0.take() {
            let _ = w.abort().await;
        }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(w) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = w.abort().await;
            });
        }
    }
}

#[async_trait]
impl Store for ObjectBlobStore {
    async fn put_file(&self, key: &BlobKey, local: &Path) -> Result<(), StoreError> {
        let path = self.path_of(key);
        let io_err = |source| StoreError::Io { key: key.to_string(), source };
        let mut file = tokio::fs::File::open(local).await.map_err(io_err)?;
        let len = file.metadata().await.map_err(io_err)?.len();
        if len <= PART as u64 {
            let mut bytes = Vec::with_capacity(len as usize);
            file.read_to_end(&mut bytes).await.map_err(io_err)?;
            self.inner.put(&path, PutPayload::from(bytes)).await.map_err(|e| self.error(key, e))?;
        } else {
            let upload = self.inner.put_multipart(&path).await.map_err(|e| self.error(key, e))?;
            // Aborted on every path that does not complete it, cancellation included (a dropped future), so the
            // bucket keeps no orphan parts (a lifecycle rule is still advised: see the README).
            let mut writer = AbortOnDrop(Some(WriteMultipart::new_with_chunk_size(upload, PART)));
            let mut buf = vec![0u8; PART];
            loop {
                let n = match file.read(&mut buf).await {
                    Ok(n) => n,
                    Err(e) => {
                        writer.abort().await;
                        return Err(io_err(e));
                    }
                };
                if n == 0 {
                    break;
                }
                let Some(w) = writer.0.as_mut() else { break };
                if let Err(e) = w.wait_for_capacity(PARTS_IN_FLIGHT).await {
                    writer.abort().await;
                    return Err(self.error(key, e));
                }
                w.write(&buf[..n]);
            }
            // Completing makes the whole object visible at once; an aborted upload leaves nothing.
            if let Some(w) = writer.0.take() {
                w.finish().await.map_err(|e| self.error(key, e))?;
            }
        }
        drop(file);
        match tokio::fs::remove_file(local).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(e)),
            _ => Ok(()),
        }
    }

    async fn put_bytes(&self, key: &BlobKey, bytes: Bytes) -> Result<(), StoreError> {
        self.inner.put(&self.path_of(key), PutPayload::from(bytes)).await.map(drop).map_err(|e| self.error(key, e))
    }

    async fn get(&self, key: &BlobKey, range: Option<ByteRange>) -> Result<Option<Blob>, StoreError> {
        let options = GetOptions {
            range: range.map(|r| GetRange::Bounded(r.start..r.end.saturating_add(1))),
            ..Default::default()
        };
        let result = match self.inner.get_opts(&self.path_of(key), options).await {
            Ok(r) => r,
            Err(e) if is_not_found(&e) => return Ok(None),
            // The caller resolved the range against `len`; a blob replaced since then may be shorter.
            Err(object_store::Error::Generic { source, .. }) if source.to_string().contains("416") => {
                let total_len = self.len(key).await?.unwrap_or(0);
                return Err(StoreError::RangeNotSatisfiable { total_len });
            }
            Err(e) => return Err(self.error(key, e)),
        };
        let total_len = result.meta.size;
        if let Some(r) = range
            && (r.start > r.end || r.end >= total_len)
        {
            return Err(StoreError::RangeNotSatisfiable { total_len });
        }
        let body = result.into_stream().map_err(std::io::Error::other).boxed();
        Ok(Some(Blob { total_len, range, body }))
    }

    async fn len(&self, key: &BlobKey) -> Result<Option<u64>, StoreError> {
        match self.inner.head(&self.path_of(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.error(key, e)),
        }
    }

    async fn fetch_to(&self, key: &BlobKey, dest: &Path) -> Result<(), StoreError> {
        let io_err = |source| StoreError::Io { key: key.to_string(), source };
        let result = match self.inner.get(&self.path_of(key)).await {
            Ok(r) => r,
            Err(e) if is_not_found(&e) => {
                return Err(io_err(std::io::Error::new(std::io::ErrorKind::NotFound, "no such blob")));
            }
            Err(e) => return Err(self.error(key, e)),
        };
        let mut out = tokio::fs::File::create(dest).await.map_err(io_err)?;
        let mut body = result.into_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.error(key, e))?;
            out.write_all(&chunk).await.map_err(io_err)?;
        }
        out.flush().await.map_err(io_err)
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError> {
        match self.inner.delete(&self.path_of(key)).await {
            Err(e) if !is_not_found(&e) => Err(self.error(key, e)),
            _ => Ok(()),
        }
    }

    async fn delete_prefix(&self, prefix: &BlobKey) -> Result<(), StoreError> {
        let base = self.path_of(prefix);
        // `list` matches whole path parts, so `hls/ab` never takes `hls/abc/…` with it.
        let locations = self.inner.list(Some(&base)).map_ok(|meta| meta.location).boxed();
        let mut deleted = self.inner.delete_stream(locations);
        while let Some(result) = deleted.next().await {
            match result {
                Err(e) if !is_not_found(&e) => return Err(self.error(prefix, e)),
                _ => {}
            }
        }
        Ok(())
    }

    async fn list(&self, prefix: &BlobKey) -> Result<Vec<String>, StoreError> {
        let listing =
            self.inner.list_with_delimiter(Some(&self.path_of(prefix))).await.map_err(|e| self.error(prefix, e))?;
        let names = listing.common_prefixes.iter().filter_map(|p| p.filename().map(str::to_owned));
        Ok(names.chain(listing.objects.iter().filter_map(|o| o.location.filename().map(str::to_owned))).collect())
    }
}
