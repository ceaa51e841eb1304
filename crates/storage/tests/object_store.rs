//! [`ObjectBlobStore`] against a real S3-compatible server (Garage from `scripts/garage.sh`, named by the
//! `FLICK_TEST_S3_*` variables). Without them each test says so and returns: `make test` always sets them.

use std::sync::Arc;

use bytes::Bytes;
use flick_domain::config::S3Config;
use flick_domain::ports::{Blob, BlobKey, ByteRange, Store, StoreError};
use flick_storage::object::ObjectBlobStore;
use futures_util::TryStreamExt;

/// A store under a fresh prefix of the test bucket, so tests never see each other's objects.
fn store() -> Option<ObjectBlobStore> {
    let Ok(endpoint) = std::env::var("FLICK_TEST_S3_ENDPOINT") else {
        eprintln!("FLICK_TEST_S3_ENDPOINT is not set: skipped (scripts/garage.sh start prints it)");
        return None;
    };
    let var =
        |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set with FLICK_TEST_S3_ENDPOINT"));
    let s3 = S3Config {
        endpoint: Some(endpoint),
        region: Some("garage".into()),
        access_key_id: Some(var("FLICK_TEST_S3_KEY_ID")),
        secret_access_key: Some(var("FLICK_TEST_S3_SECRET")),
        virtual_hosted_style: false,
    };
    let url = format!("s3://{}/test-{}", var("FLICK_TEST_S3_BUCKET"), uuid::Uuid::new_v4().simple());
    Some(ObjectBlobStore::from_s3_url(&url, &s3).unwrap())
}

fn key(s: &str) -> BlobKey {
    BlobKey::new(s).unwrap()
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

async fn body(blob: Blob) -> Vec<u8> {
    blob.body
        .try_fold(Vec::new(), |mut v, b| async move {
            Ok({
                v.extend_from_slice(&b);
                v
            })
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn bytes_round_trip_with_ranges() {
    let Some(store) = store() else { return };
    store.check().await.unwrap();
    let data = payload(100_000);
    store.put_bytes(&key("hls/a/seg.ts"), Bytes::from(data.clone())).await.unwrap();
    assert_eq!(store.len(&key("hls/a/seg.ts")).await.unwrap(), Some(100_000));
    let whole = store.get(&key("hls/a/seg.ts"), None).await.unwrap().unwrap();
    assert_eq!(whole.total_len, 100_000);
    assert_eq!(body(whole).await, data);
    let part = store.get(&key("hls/a/seg.ts"), Some(ByteRange { start: 10, end: 19 })).await.unwrap().unwrap();
    assert_eq!(part.total_len, 100_000);
    assert_eq!(body(part).await, &data[10..20]);
    let last = store.get(&key("hls/a/seg.ts"), Some(ByteRange { start: 99_999, end: 99_999 })).await.unwrap().unwrap();
    assert_eq!(body(last).await, &data[99_999..]);
    assert!(matches!(
        store.get(&key("hls/a/seg.ts"), Some(ByteRange { start: 100_000, end: 100_001 })).await,
        Err(StoreError::RangeNotSatisfiable { total_len: 100_000 })
    ));
    // Replacing is whole.
    store.put_bytes(&key("hls/a/seg.ts"), Bytes::from_static(b"short")).await.unwrap();
    assert_eq!(body(store.get(&key("hls/a/seg.ts"), None).await.unwrap().unwrap()).await, b"short");
}

#[tokio::test]
async fn absent_blobs_read_as_none_and_deletes_tolerate_absence() {
    let Some(store) = store() else { return };
    assert!(store.get(&key("raw/none"), None).await.unwrap().is_none());
    assert_eq!(store.len(&key("raw/none")).await.unwrap(), None);
    store.delete(&key("raw/none")).await.unwrap();
    store.delete_prefix(&key("hls/none")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert!(store.fetch_to(&key("raw/none"), &dir.path().join("x")).await.is_err());
}

#[tokio::test]
async fn large_files_go_up_in_parts_and_come_back_whole() {
    let Some(store) = store() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Over two parts, not a multiple of the part size.
    let data = payload(8 * 1024 * 1024 * 2 + 12_345);
    let local = dir.path().join("upload.part");
    std::fs::write(&local, &data).unwrap();
    store.put_file(&key("raw/big"), &local).await.unwrap();
    assert!(!local.exists(), "put_file consumes the local file");
    assert_eq!(store.len(&key("raw/big")).await.unwrap(), Some(data.len() as u64));
    let back = dir.path().join("back");
    store.fetch_to(&key("raw/big"), &back).await.unwrap();
    assert!(std::fs::read(&back).unwrap() == data, "the fetched copy differs");
    let small = dir.path().join("small.part");
    std::fs::write(&small, b"tiny").unwrap();
    store.put_file(&key("thumbs/x.jpg"), &small).await.unwrap();
    assert_eq!(body(store.get(&key("thumbs/x.jpg"), None).await.unwrap().unwrap()).await, b"tiny");
}

#[tokio::test]
async fn list_and_delete_prefix_stay_inside_their_folder() {
    let Some(store) = store() else { return };
    for k in ["hls/ab/index.m3u8", "hls/ab/seg_1.ts", "hls/abc/seg_1.ts", "raw/ab", "thumbs/ab.jpg"] {
        store.put_bytes(&key(k), Bytes::from_static(b"x")).await.unwrap();
    }
    let mut hls = store.list(&key("hls")).await.unwrap();
    hls.sort();
    assert_eq!(hls, ["ab", "abc"]);
    assert_eq!(store.list(&key("raw")).await.unwrap(), ["ab"]);
    store.delete_prefix(&key("hls/ab")).await.unwrap();
    assert_eq!(store.list(&key("hls")).await.unwrap(), ["abc"], "a sibling with a longer name survives");
    assert!(store.list(&key("hls/ab")).await.unwrap().is_empty());
}

#[tokio::test]
async fn prefixes_separate_installations_in_one_bucket() {
    let (Some(a), Some(b)) = (store(), store()) else { return };
    a.put_bytes(&key("raw/same"), Bytes::from_static(b"a")).await.unwrap();
    assert_eq!(b.len(&key("raw/same")).await.unwrap(), None);
    let shared: Arc<dyn Store> = Arc::new(a);
    assert_eq!(shared.len(&key("raw/same")).await.unwrap(), Some(1));
}

#[test]
fn bad_urls_are_refused() {
    for url in ["s3://", "s3:///x", "s3://b/../x", "s3://b/a b", "http://b"] {
        assert!(ObjectBlobStore::from_s3_url(url, &S3Config::default()).is_err(), "{url} must be refused");
    }
}
