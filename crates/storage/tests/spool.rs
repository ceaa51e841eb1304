//! The two upload spools ([`LocalSpool`], [`StagedSpool`]) behave alike: bytes written count only once committed,
//! reads return the file's bytes wherever they were sent from (front to back or index first), a crash's torn write
//! is cut back, and finishing stores the file byte-identical to the original. The staged spool runs over the local
//! store here, and over the S3 test server when `FLICK_TEST_S3_*` is set (`make test`).

use std::sync::Arc;

use chrono::Utc;
use flick_domain::VideoId;
use flick_domain::config::S3Config;
use flick_domain::ports::{BlobKey, ByteRange, Store, UploadRecord, UploadSpool};
use flick_storage::object::ObjectBlobStore;
use flick_storage::{FsStore, LocalSpool, StagedSpool};
use futures_util::TryStreamExt;

/// A file of `len` bytes that no two offsets confuse.
fn original(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn record(length: u64, index_offset: Option<u64>) -> UploadRecord {
    let now = Utc::now();
    UploadRecord {
        id: VideoId::new(),
        length,
        offset: 0,
        index_offset,
        partial: false,
        file_name: None,
        metadata: None,
        manage_token_hash: "h".into(),
        created_at: now,
        expires_at: now,
        uploader: None,
    }
}

async fn read(spool: &dyn UploadSpool, upload: &UploadRecord, start: u64, end_inclusive: u64) -> Vec<u8> {
    let body = spool.read(upload, ByteRange { start, end: end_inclusive }).await.unwrap();
    body.try_fold(Vec::new(), |mut v, b| async move {
        v.extend_from_slice(&b);
        Ok(v)
    })
    .await
    .unwrap()
}

/// The bytes of transmission range `from..to` of `file` sent with the upload's layout.
fn sent(file: &[u8], upload: &UploadRecord, from: u64, to: u64) -> Vec<u8> {
    upload
        .layout()
        .file_ranges(from, to)
        .into_iter()
        .flat_map(|r| file[r.start as usize..r.end as usize].to_vec())
        .collect()
}

/// Sends `file` in three requests (the second cut and rolled back once), checking what is readable after each
/// commit, then finishes it into `store` and checks the stored file.
async fn scenario(spool: &dyn UploadSpool, store: &dyn Store, index_offset: Option<u64>) {
    let file = original(300_000);
    let mut upload = record(file.len() as u64, index_offset);
    spool.create(&upload).await.unwrap();
    let cuts = [0u64, 70_000, 180_000, file.len() as u64];
    for pair in cuts.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        upload.offset = spool.reconcile(&upload).await.unwrap();
        assert_eq!(upload.offset, from, "resumes where the last commit left it");
        let mut writer = spool.writer(&upload, from).await.unwrap();
        // A first attempt is cut off: nothing of it may count.
        writer.write(&sent(&file, &upload, from, from + 5_000)).await.unwrap();
        writer.rollback().await.unwrap();
        // Sent in pieces, committed half-way and at the end, as a request's body is.
        let mid = from + (to - from) / 2;
        writer.write(&sent(&file, &upload, from, mid)).await.unwrap();
        assert_eq!(writer.commit().await.unwrap(), mid);
        upload.offset = mid;
        writer.write(&sent(&file, &upload, mid, to)).await.unwrap();
        assert_eq!(writer.commit().await.unwrap(), to);
        drop(writer);
        if to == upload.length {
            break;
        }
        upload.offset = to;
        // What has arrived reads back as the file's own bytes, in file coordinates.
        for r in upload.layout().received(to).ranges() {
            let got = read(spool, &upload, r.start, r.end - 1).await;
            assert!(got == file[r.start as usize..r.end as usize], "bytes {r:?} read back");
        }
    }
    let raw = BlobKey::raw(upload.id);
    spool.finish(&upload, store, &raw).await.unwrap();
    let stored = store.get(&raw, None).await.unwrap().expect("stored");
    let bytes: Vec<u8> = stored
        .body
        .try_fold(Vec::new(), |mut v, b| async move {
            v.extend_from_slice(&b);
            Ok(v)
        })
        .await
        .unwrap();
    assert!(bytes == file, "the stored file is byte-identical to the original");
    assert!(spool.list().await.unwrap().iter().all(|id| *id != upload.id), "nothing of it stays in the spool");
    store.delete(&raw).await.unwrap();
}

fn s3_store() -> Option<ObjectBlobStore> {
    let endpoint = std::env::var("FLICK_TEST_S3_ENDPOINT").ok()?;
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set"));
    let s3 = S3Config {
        endpoint: Some(endpoint),
        region: Some("garage".into()),
        access_key_id: Some(var("FLICK_TEST_S3_KEY_ID")),
        secret_access_key: Some(var("FLICK_TEST_S3_SECRET")),
        virtual_hosted_style: false,
    };
    let url = format!("s3://{}/spool-{}", var("FLICK_TEST_S3_BUCKET"), uuid::Uuid::new_v4().simple());
    Some(ObjectBlobStore::from_s3_url(&url, &s3).unwrap())
}

#[tokio::test]
async fn a_local_spool_keeps_an_upload_in_order_and_index_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path().to_path_buf()).unwrap();
    let spool = LocalSpool::new(store.scratch_dir());
    scenario(&spool, &store, None).await;
    scenario(&spool, &store, Some(250_000)).await;
}

#[tokio::test]
async fn a_staged_spool_keeps_an_upload_in_order_and_index_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::new(dir.path().to_path_buf()).unwrap());
    let spool = StagedSpool::new(store.clone(), dir.path().join("node"));
    scenario(&spool, store.as_ref(), None).await;
    scenario(&spool, store.as_ref(), Some(250_000)).await;
    // Another node (another spool over the same store) reads what this one staged.
    let file = original(10_000);
    let mut upload = record(file.len() as u64, None);
    let mut writer = spool.writer(&upload, 0).await.unwrap();
    writer.write(&file[..4_000]).await.unwrap();
    writer.commit().await.unwrap();
    upload.offset = 4_000;
    let elsewhere = StagedSpool::new(store.clone(), dir.path().join("other"));
    assert!(read(&elsewhere, &upload, 1_000, 3_999).await == file[1_000..4_000]);
}

#[tokio::test]
async fn a_staged_spool_works_on_s3() {
    let Some(store) = s3_store() else {
        eprintln!("FLICK_TEST_S3_ENDPOINT is not set: skipped (scripts/garage.sh start prints it)");
        return;
    };
    let store = Arc::new(store);
    let dir = tempfile::tempdir().unwrap();
    let spool = StagedSpool::new(store.clone(), dir.path().to_path_buf());
    scenario(&spool, store.as_ref(), None).await;
    scenario(&spool, store.as_ref(), Some(250_000)).await;
}

#[tokio::test]
async fn a_torn_local_write_is_cut_back_to_the_recorded_offset() {
    let dir = tempfile::tempdir().unwrap();
    let spool = LocalSpool::new(dir.path().to_path_buf());
    let file = original(1_000);
    let mut upload = record(1_000, None);
    spool.create(&upload).await.unwrap();
    let mut writer = spool.writer(&upload, 0).await.unwrap();
    writer.write(&file[..600]).await.unwrap();
    writer.commit().await.unwrap();
    drop(writer);
    // Only 400 were recorded before the "crash".
    upload.offset = 400;
    assert_eq!(spool.reconcile(&upload).await.unwrap(), 400);
    assert_eq!(std::fs::metadata(spool.path_of(upload.id)).unwrap().len(), 400);
    // A file shorter than recorded (its tail lost) continues from what is there.
    upload.offset = 700;
    assert_eq!(spool.reconcile(&upload).await.unwrap(), 400);
    spool.remove(upload.id).await.unwrap();
    assert!(spool.list().await.unwrap().is_empty());
    spool.remove(upload.id).await.unwrap();
}
