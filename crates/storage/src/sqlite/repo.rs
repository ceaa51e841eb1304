//! [`Repo`] on SQLite: the `videos` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flick_domain::ports::{JobKind, Repo, RepoError};
use flick_domain::{NewVideo, Video, VideoFailure, VideoId, VideoStatus, VideoUpdate};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::queue::insert_job;
use super::{SqliteDb, now_ms};

/// The columns [`video_from_row`] reads, in a fixed order.
const VIDEO_COLUMNS: &str = "id, original_name, size_bytes, status, playable, progress, duration_seconds, \
     width, height, has_thumbnail, error_code, error_message, manage_token_hash, created_at, updated_at";

#[async_trait]
impl Repo for SqliteDb {
    async fn insert_video(&self, video: &NewVideo) -> Result<(), RepoError> {
        insert_new_video(&self.pool, video).await
    }

    async fn create_video(&self, video: &NewVideo) -> Result<(), RepoError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // On any error the transaction is dropped, hence rolled back: no video without its job, no job without its
        // video (a duplicate id leaves the existing video's jobs alone).
        insert_new_video(&mut *tx, video).await?;
        let queued = insert_job(&mut *tx, video.id, JobKind::Process).await.map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        if queued {
            self.job_added(video.id, JobKind::Process);
        }
        Ok(())
    }

    async fn get_video(&self, id: VideoId) -> Result<Option<Video>, RepoError> {
        let row = sqlx::query(&format!("SELECT {VIDEO_COLUMNS} FROM videos WHERE id = ?1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(video_from_row).transpose()
    }

    async fn update_video(&self, id: VideoId, update: &VideoUpdate) -> Result<bool, RepoError> {
        // NaN would poison ordering and the CHECK; a NaN progress is a no-op, anything else is clamped.
        let progress = update.progress.filter(|p| !p.is_nan()).map(|p| p.clamp(0.0, 1.0));
        // SET expressions see the row's old values, so `COALESCE(?1, status)` is the new status:
        // a failure is kept (or replaced) while the video is in error and cleared on any other status.
        let result = sqlx::query(
            "UPDATE videos SET \
               status = COALESCE(?1, status), \
               playable = COALESCE(?2, playable), \
               progress = COALESCE(?3, progress), \
               duration_seconds = COALESCE(?4, duration_seconds), \
               width = COALESCE(?5, width), \
               height = COALESCE(?6, height), \
               has_thumbnail = COALESCE(?7, has_thumbnail), \
               error_code = CASE WHEN COALESCE(?1, status) = 'error' THEN COALESCE(?8, error_code) END, \
               error_message = CASE WHEN COALESCE(?1, status) = 'error' THEN COALESCE(?9, error_message) END, \
               updated_at = MAX(updated_at, ?10) \
             WHERE id = ?11",
        )
        .bind(update.status.map(VideoStatus::as_str))
        .bind(update.playable)
        .bind(progress)
        .bind(update.duration_seconds)
        .bind(update.width.map(i64::from))
        .bind(update.height.map(i64::from))
        .bind(update.has_thumbnail)
        .bind(update.failure.as_ref().map(|f| f.code.as_str()))
        .bind(update.failure.as_ref().map(|f| f.message.as_str()))
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn delete_video(&self, id: VideoId) -> Result<bool, RepoError> {
        let result = sqlx::query("DELETE FROM videos WHERE id = ?1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn list_videos(&self, limit: u32, offset: u32) -> Result<Vec<Video>, RepoError> {
        // rowid breaks ties between videos created in the same millisecond: later insert first.
        let rows = sqlx::query(&format!(
            "SELECT {VIDEO_COLUMNS} FROM videos ORDER BY created_at DESC, rowid DESC LIMIT ?1 OFFSET ?2"
        ))
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(video_from_row).collect()
    }

    async fn processing_video_ids(&self) -> Result<Vec<VideoId>, RepoError> {
        self.ids_where("status = 'processing'").await
    }

    async fn ready_without_thumbnail(&self) -> Result<Vec<VideoId>, RepoError> {
        self.ids_where("status = 'ready' AND has_thumbnail = 0").await
    }

    async fn exists(&self, id: VideoId) -> Result<bool, RepoError> {
        let row = sqlx::query("SELECT 1 FROM videos WHERE id = ?1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(row.is_some())
    }

    async fn import_video(&self, video: &Video) -> Result<bool, RepoError> {
        let size = size_to_db(video.size_bytes)?;
        let result = sqlx::query(&format!(
            "INSERT INTO videos ({VIDEO_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) ON CONFLICT (id) DO NOTHING"
        ))
        .bind(video.id.to_string())
        .bind(&video.original_name)
        .bind(size)
        .bind(video.status.as_str())
        .bind(video.playable)
        .bind(video.progress)
        .bind(video.duration_seconds)
        .bind(video.width.map(i64::from))
        .bind(video.height.map(i64::from))
        .bind(video.has_thumbnail)
        .bind(video.failure.as_ref().map(|f| f.code.as_str()))
        .bind(video.failure.as_ref().map(|f| f.message.as_str()))
        .bind(&video.manage_token_hash)
        .bind(video.created_at.timestamp_millis())
        .bind(video.updated_at.timestamp_millis())
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }
}

/// Inserts a new video in `processing` state through `executor` (the pool, or a transaction); a taken id is
/// [`RepoError::Duplicate`].
async fn insert_new_video<'e>(executor: impl sqlx::SqliteExecutor<'e>, video: &NewVideo) -> Result<(), RepoError> {
    let size = size_to_db(video.size_bytes)?;
    let now = now_ms();
    let result = sqlx::query(
        "INSERT INTO videos (id, original_name, size_bytes, status, playable, progress, has_thumbnail, \
         manage_token_hash, created_at, updated_at) VALUES (?1, ?2, ?3, 'processing', 0, 0, 0, ?4, ?5, ?5)",
    )
    .bind(video.id.to_string())
    .bind(&video.original_name)
    .bind(size)
    .bind(&video.manage_token_hash)
    .bind(now)
    .execute(executor)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => Err(RepoError::Duplicate),
        Err(e) => Err(db_error(e)),
    }
}

impl SqliteDb {
    /// Ids of the videos matching a fixed (never user-supplied) condition, oldest first.
    async fn ids_where(&self, condition: &'static str) -> Result<Vec<VideoId>, RepoError> {
        let rows = sqlx::query(&format!("SELECT id FROM videos WHERE {condition} ORDER BY created_at, rowid"))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(|row| parse_id(&get::<String>(row, "id")?)).collect()
    }
}

/// Builds a [`Video`] from a row of [`VIDEO_COLUMNS`]; any unexpected value is [`RepoError::Corrupt`].
fn video_from_row(row: &SqliteRow) -> Result<Video, RepoError> {
    let id = parse_id(&get::<String>(row, "id")?)?;
    let status_text: String = get(row, "status")?;
    let status = VideoStatus::parse(&status_text)
        .ok_or_else(|| RepoError::Corrupt(format!("video {id}: unknown status {status_text:?}")))?;
    let size: i64 = get(row, "size_bytes")?;
    let size_bytes =
        u64::try_from(size).map_err(|_| RepoError::Corrupt(format!("video {id}: negative size {size}")))?;
    let dimension = |column: &str| -> Result<Option<u32>, RepoError> {
        get::<Option<i64>>(row, column)?
            .map(|v| u32::try_from(v).map_err(|_| RepoError::Corrupt(format!("video {id}: {column} is {v}"))))
            .transpose()
    };
    let failure = match (get::<Option<String>>(row, "error_code")?, get::<Option<String>>(row, "error_message")?) {
        (Some(code), Some(message)) => Some(VideoFailure { code, message }),
        (Some(code), None) => Some(VideoFailure { code, message: String::new() }),
        (None, Some(message)) => Some(VideoFailure { code: String::new(), message }),
        (None, None) => None,
    };
    Ok(Video {
        id,
        original_name: get(row, "original_name")?,
        size_bytes,
        status,
        playable: get::<i64>(row, "playable")? != 0,
        progress: get(row, "progress")?,
        duration_seconds: get(row, "duration_seconds")?,
        width: dimension("width")?,
        height: dimension("height")?,
        has_thumbnail: get::<i64>(row, "has_thumbnail")? != 0,
        failure,
        manage_token_hash: get(row, "manage_token_hash")?,
        created_at: timestamp(id, "created_at", get(row, "created_at")?)?,
        updated_at: timestamp(id, "updated_at", get(row, "updated_at")?)?,
    })
}

/// One column of a row; a missing column or a value of the wrong type is corruption.
fn get<'r, T>(row: &'r SqliteRow, column: &str) -> Result<T, RepoError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(column).map_err(|e| RepoError::Corrupt(format!("column {column}: {e}")))
}

fn parse_id(text: &str) -> Result<VideoId, RepoError> {
    VideoId::parse(text).map_err(|_| RepoError::Corrupt(format!("malformed video id {text:?}")))
}

fn timestamp(id: VideoId, column: &str, ms: i64) -> Result<DateTime<Utc>, RepoError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| RepoError::Corrupt(format!("video {id}: {column} is {ms}")))
}

/// A database failure: decoding trouble means a bad row, anything else an unavailable store.
fn db_error(e: sqlx::Error) -> RepoError {
    match e {
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_) => {
            RepoError::Corrupt(e.to_string())
        }
        other => RepoError::Unavailable(other.to_string()),
    }
}

/// A size in bytes as the database's signed 64-bit integer.
fn size_to_db(bytes: u64) -> Result<i64, RepoError> {
    i64::try_from(bytes).map_err(|_| RepoError::Unavailable(format!("size {bytes} does not fit the database")))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db() -> (tempfile::TempDir, SqliteDb) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/flick.db", dir.path().display());
        let db = SqliteDb::open(&url).await.unwrap();
        (dir, db)
    }

    /// Writes a row the CHECK constraints would refuse, as a damaged or hand-edited file could hold.
    async fn force_insert(db: &SqliteDb, id: &str, status: &str) {
        let mut conn = db.pool.acquire().await.unwrap();
        sqlx::query("PRAGMA ignore_check_constraints = ON").execute(&mut *conn).await.unwrap();
        sqlx::query(
            "INSERT INTO videos (id, original_name, size_bytes, status, manage_token_hash, created_at, updated_at) \
             VALUES (?1, 'x.mp4', 1, ?2, 'h', 0, 0)",
        )
        .bind(id)
        .bind(status)
        .execute(&mut *conn)
        .await
        .unwrap();
        sqlx::query("PRAGMA ignore_check_constraints = OFF").execute(&mut *conn).await.unwrap();
    }

    #[tokio::test]
    async fn corrupt_status_is_reported_not_panicked() {
        let (_dir, db) = db().await;
        let id = VideoId::new();
        force_insert(&db, &id.to_string(), "exploded").await;
        assert!(matches!(db.get_video(id).await, Err(RepoError::Corrupt(m)) if m.contains("exploded")));
        assert!(matches!(db.list_videos(10, 0).await, Err(RepoError::Corrupt(_))));
    }

    #[tokio::test]
    async fn corrupt_id_is_reported_not_panicked() {
        let (_dir, db) = db().await;
        force_insert(&db, "../../etc/passwd", "processing").await;
        assert!(matches!(db.list_videos(10, 0).await, Err(RepoError::Corrupt(m)) if m.contains("passwd")));
        assert!(matches!(db.processing_video_ids().await, Err(RepoError::Corrupt(_))));
    }

    #[tokio::test]
    async fn failure_is_only_stored_with_error_status() {
        let (_dir, db) = db().await;
        let id = VideoId::new();
        let new = NewVideo { id, original_name: "a.mp4".into(), size_bytes: 1, manage_token_hash: "h".into() };
        db.insert_video(&new).await.unwrap();
        // A failure sent without the error status does not attach to a processing video.
        let update =
            VideoUpdate { failure: Some(VideoFailure { code: "c".into(), message: "m".into() }), ..Default::default() };
        assert!(db.update_video(id, &update).await.unwrap());
        assert_eq!(db.get_video(id).await.unwrap().unwrap().failure, None);
    }
}
