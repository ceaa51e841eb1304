//! Uploads staged in the blob store, for API nodes that share one bucket and one database: each PATCH's bytes
//! become one object `uploads/{id}/{offset}` (20 digits) before the new offset is recorded, so the next chunk may
//! land on any node. The record's offset is the truth: the parts are read by walking from 0, each part's length
//! leading to the next, up to the recorded offset. A part a crashed node stored without recording it starts at
//! the recorded offset (the next chunk overwrites it) or lies beyond the walk; neither is ever read.

use std::path::Path;

use flick_domain::VideoId;
use flick_domain::ports::{BlobKey, Store};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;

/// `uploads/{id}`: the folder of an upload's parts.
pub fn folder(id: VideoId) -> BlobKey {
    // A VideoId is 32 hex digits: always a valid key.
    BlobKey::new(format!("uploads/{id}")).unwrap_or_else(|_| unreachable!("video ids are hex"))
}

/// `uploads/{id}/{offset}`: the part that starts at `offset`.
pub fn part(id: VideoId, offset: u64) -> BlobKey {
    BlobKey::new(format!("uploads/{id}/{offset:020}")).unwrap_or_else(|_| unreachable!("digits are a valid key"))
}

/// The recorded parts in order, as (start, length), covering exactly `0..offset`.
async fn parts(store: &dyn Store, id: VideoId, offset: u64) -> Result<Vec<(u64, u64)>, ApiError> {
    let mut parts = Vec::new();
    let mut at = 0;
    while at < offset {
        let len = store.len(&part(id, at)).await?.filter(|&n| n > 0).ok_or_else(|| {
            ApiError::Internal(format!("upload {id} has no stored part at {at} of {offset} recorded bytes"))
        })?;
        parts.push((at, len));
        at += len;
    }
    if at != offset {
        return Err(ApiError::Internal(format!("upload {id}'s parts end at {at}, not at the recorded {offset}")));
    }
    Ok(parts)
}

/// All the recorded bytes of an upload whose recorded `offset` is still inside the sniffed head (a few bytes).
pub async fn read_head(store: &dyn Store, id: VideoId, offset: u64) -> Result<Vec<u8>, ApiError> {
    let mut head = Vec::with_capacity(offset as usize);
    for (start, _) in parts(store, id, offset).await? {
        let Some(blob) = store.get(&part(id, start), None).await? else {
            return Err(ApiError::Internal(format!("upload {id}'s part at {start} vanished")));
        };
        let mut body = blob.body;
        while let Some(chunk) = body.next().await {
            head.extend_from_slice(&chunk?);
        }
    }
    head.truncate(offset as usize);
    Ok(head)
}

/// Writes the upload's first `offset` bytes (all its recorded parts) into the new local file `dest`, then the
/// bytes of the local chunk file `last`: the whole upload, in order.
pub async fn assemble(store: &dyn Store, id: VideoId, offset: u64, last: &Path, dest: &Path) -> Result<(), ApiError> {
    let mut out = tokio::io::BufWriter::with_capacity(1 << 20, tokio::fs::File::create_new(dest).await?);
    for (start, len) in parts(store, id, offset).await? {
        let Some(blob) = store.get(&part(id, start), None).await? else {
            return Err(ApiError::Internal(format!("upload {id}'s part at {start} vanished")));
        };
        let mut copied = 0;
        let mut body = blob.body;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            copied += chunk.len() as u64;
            out.write_all(&chunk).await?;
        }
        if copied != len {
            return Err(ApiError::Internal(format!("upload {id}'s part at {start} changed while it was read")));
        }
    }
    let mut tail = tokio::fs::File::open(last).await?;
    tokio::io::copy(&mut tail, &mut out).await?;
    out.flush().await?;
    // What is acknowledged must be on disk: the caller hands this file to the store next.
    out.into_inner().sync_all().await?;
    Ok(())
}
