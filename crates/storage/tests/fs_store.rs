//! `FsStore` against the real filesystem.

use std::path::Path;

use bytes::Bytes;
use flick_domain::VideoId;
use flick_domain::ports::{Blob, BlobKey, ByteRange, Store, StoreError};
use flick_storage::FsStore;
use futures_util::TryStreamExt;

fn store() -> (tempfile::TempDir, FsStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path().join("blobs")).unwrap();
    (dir, store)
}

fn key(s: &str) -> BlobKey {
    BlobKey::new(s).unwrap()
}

/// A payload larger than one 64 KiB chunk, with no repeating pattern a wrong offset could hide in.
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

async fn body(blob: Blob) -> Vec<u8> {
    let chunks: Vec<Bytes> = blob.body.try_collect().await.unwrap();
    chunks.concat()
}

/// Every file under `dir`, recursively, relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if entry.file_type().unwrap().is_dir() {
            out.extend(files_under(&entry.path()).into_iter().map(|f| format!("{name}/{f}")));
        } else {
            out.push(name);
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn new_creates_root_and_scratch() {
    let (dir, store) = store();
    assert!(dir.path().join("blobs/tmp").is_dir());
    assert_eq!(store.scratch_dir(), dir.path().join("blobs/tmp"));
}

#[tokio::test]
async fn put_file_moves_the_file_in() {
    let (_dir, store) = store();
    let data = payload(200_000);
    let local = store.scratch_dir().join("upload-1");
    std::fs::write(&local, &data).unwrap();
    let k = BlobKey::raw(VideoId::new());

    store.put_file(&k, &local).await.unwrap();
    assert!(!local.exists(), "the local file is consumed");
    assert_eq!(store.len(&k).await.unwrap(), Some(200_000));
    let blob = store.get(&k, None).await.unwrap().unwrap();
    assert_eq!((blob.total_len, blob.range), (200_000, None));
    assert_eq!(body(blob).await, data);

    let missing = store.scratch_dir().join("never-written");
    assert!(matches!(store.put_file(&key("raw/x"), &missing).await, Err(StoreError::Io { .. })));
}

#[tokio::test]
async fn put_file_from_another_filesystem_copies_then_removes_the_source() {
    // /dev/shm is a tmpfs on Linux: a rename from there into the store fails with EXDEV.
    let shm = Path::new("/dev/shm");
    let (_dir, store) = store();
    let other = match tempfile::tempdir_in(shm) {
        Ok(d) => d,
        Err(_) => return eprintln!("no /dev/shm here; cross-filesystem move not exercised"),
    };
    let local = other.path().join("upload");
    let data = payload(70_000);
    std::fs::write(&local, &data).unwrap();
    let k = key("hls/abc/seg_00001.ts");
    store.put_file(&k, &local).await.unwrap();
    assert!(!local.exists());
    assert_eq!(body(store.get(&k, None).await.unwrap().unwrap()).await, data);
    assert_eq!(files_under(&store.root().join("hls/abc")), vec!["seg_00001.ts"], "no temp file left");
}

#[tokio::test]
async fn put_bytes_replaces_atomically_and_leaves_no_temp_files() {
    let (_dir, store) = store();
    let k = key("hls/v1/index.m3u8");
    store.put_bytes(&k, Bytes::from_static(b"#EXTM3U\nfirst")).await.unwrap();
    store.put_bytes(&k, Bytes::from_static(b"#EXTM3U\nsecond")).await.unwrap();
    assert_eq!(body(store.get(&k, None).await.unwrap().unwrap()).await, b"#EXTM3U\nsecond");
    store.put_bytes(&key("hls/v1/empty"), Bytes::new()).await.unwrap();
    assert_eq!(store.len(&key("hls/v1/empty")).await.unwrap(), Some(0));
    assert_eq!(files_under(&store.root().join("hls")), vec!["v1/empty", "v1/index.m3u8"]);
}

#[tokio::test]
async fn concurrent_readers_see_whole_blobs_only() {
    let (_dir, store) = store();
    let k = key("hls/v/index.m3u8");
    let (a, b) = (vec![b'a'; 100_000], vec![b'b'; 150_000]);
    store.put_bytes(&k, Bytes::from(a.clone())).await.unwrap();
    let writer = {
        let (store, k, a, b) = (store.clone(), k.clone(), a.clone(), b.clone());
        tokio::spawn(async move {
            for i in 0..40 {
                let next = if i % 2 == 0 { &b } else { &a };
                store.put_bytes(&k, Bytes::from(next.clone())).await.unwrap();
            }
        })
    };
    for _ in 0..40 {
        let seen = body(store.get(&k, None).await.unwrap().unwrap()).await;
        assert!(seen == a || seen == b, "a reader saw a partial blob of {} bytes", seen.len());
    }
    writer.await.unwrap();
}

#[tokio::test]
async fn ranged_get_returns_exactly_the_requested_bytes() {
    let (_dir, store) = store();
    let data = payload(150_000);
    let k = key("raw/r");
    store.put_bytes(&k, Bytes::from(data.clone())).await.unwrap();

    for (start, end) in [(0, 0), (0, 149_999), (65_535, 65_537), (1000, 140_000), (149_999, 149_999)] {
        let range = ByteRange { start, end };
        let blob = store.get(&k, Some(range)).await.unwrap().unwrap();
        assert_eq!((blob.total_len, blob.range), (150_000, Some(range)));
        assert_eq!(body(blob).await, &data[start as usize..=end as usize], "range {start}-{end}");
    }
    for (start, end) in [(0, 150_000), (150_000, 150_001), (10, 5)] {
        let result = store.get(&k, Some(ByteRange { start, end })).await;
        assert!(
            matches!(result, Err(StoreError::RangeNotSatisfiable { total_len: 150_000 })),
            "range {start}-{end} must be refused"
        );
    }
}

#[tokio::test]
async fn absent_blobs_read_as_none() {
    let (_dir, store) = store();
    let k = key("thumbs/none.jpg");
    assert!(store.get(&k, None).await.unwrap().is_none());
    assert!(store.get(&k, Some(ByteRange { start: 0, end: 0 })).await.unwrap().is_none());
    assert_eq!(store.len(&k).await.unwrap(), None);
    // A directory is not a blob, nor is a path through a file.
    store.put_bytes(&key("hls/v/a.ts"), Bytes::from_static(b"x")).await.unwrap();
    assert!(store.get(&key("hls/v"), None).await.unwrap().is_none());
    assert_eq!(store.len(&key("hls/v")).await.unwrap(), None);
    assert!(store.get(&key("hls/v/a.ts/b"), None).await.unwrap().is_none());
}

#[tokio::test]
async fn delete_and_delete_prefix_tolerate_absence() {
    let (_dir, store) = store();
    let id = VideoId::new();
    let seg = BlobKey::hls_file(id, "seg_00000.ts").unwrap();
    store.put_bytes(&seg, Bytes::from_static(b"ts")).await.unwrap();
    store.put_bytes(&BlobKey::hls_file(id, "index.m3u8").unwrap(), Bytes::from_static(b"m3u8")).await.unwrap();
    store.put_bytes(&BlobKey::thumbnail(id), Bytes::from_static(b"jpg")).await.unwrap();

    store.delete(&seg).await.unwrap();
    assert_eq!(store.len(&seg).await.unwrap(), None);
    store.delete(&seg).await.unwrap();

    store.delete_prefix(&BlobKey::hls_prefix(id)).await.unwrap();
    assert!(store.list(&BlobKey::hls_prefix(id)).await.unwrap().is_empty());
    assert!(!store.root().join(format!("hls/{id}")).exists());
    store.delete_prefix(&BlobKey::hls_prefix(id)).await.unwrap();
    assert_eq!(store.len(&BlobKey::thumbnail(id)).await.unwrap(), Some(3), "other blobs untouched");
}

#[tokio::test]
async fn list_names_what_is_directly_under_a_prefix() {
    let (_dir, store) = store();
    let (a, b) = (VideoId::new(), VideoId::new());
    store.put_bytes(&BlobKey::raw(a), Bytes::from_static(b"1")).await.unwrap();
    store.put_bytes(&BlobKey::raw(b), Bytes::from_static(b"2")).await.unwrap();
    store.put_bytes(&BlobKey::hls_file(a, "index.m3u8").unwrap(), Bytes::from_static(b"3")).await.unwrap();
    // A temporary file a crash left behind is not a blob.
    std::fs::write(store.root().join("raw/.leftover.tmp-00"), b"partial").unwrap();

    let mut expected = vec![a.to_string(), b.to_string()];
    expected.sort();
    assert_eq!(store.list(&key("raw")).await.unwrap(), expected);
    assert_eq!(store.list(&key("hls")).await.unwrap(), vec![a.to_string()]);
    assert!(store.list(&key("nothing")).await.unwrap().is_empty());
}

#[tokio::test]
async fn fetch_to_makes_a_local_copy() {
    let (dir, store) = store();
    let data = payload(80_000);
    let k = key("raw/src");
    store.put_bytes(&k, Bytes::from(data.clone())).await.unwrap();
    let dest = dir.path().join("work-input");
    std::fs::write(&dest, b"stale").unwrap();
    store.fetch_to(&k, &dest).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);

    // Replacing the blob later does not change the fetched file.
    store.put_bytes(&k, Bytes::from_static(b"new")).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);

    let missing = store.fetch_to(&key("raw/missing"), &dir.path().join("x")).await;
    assert!(matches!(missing, Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound));
}

#[tokio::test]
async fn scratch_and_temporary_names_are_not_keys() {
    let (_dir, store) = store();
    for bad in ["tmp/x", "work/x", "raw/.hidden", ".x"] {
        let k = key(bad);
        assert!(matches!(store.put_bytes(&k, Bytes::new()).await, Err(StoreError::InvalidKey(_))), "{bad}");
        assert!(matches!(store.get(&k, None).await, Err(StoreError::InvalidKey(_))), "{bad}");
    }
}
