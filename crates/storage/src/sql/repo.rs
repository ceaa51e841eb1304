//! [`Repo`]: the `videos` table.

use async_trait::async_trait;
use flick_domain::ports::{JobKind, Repo, RepoError};
use flick_domain::{NewVideo, Video, VideoId, VideoStatus, VideoUpdate};

use super::rows::VIDEO_COLUMNS;
use super::{Bind, Channel, Sql, SqlDb, Statement, db_error, insert_error, parse_id, to_db};

#[async_trait]
impl<DB: Sql> Repo for SqlDb<DB> {
    async fn create_video(&self, video: &NewVideo) -> Result<(), RepoError> {
        let sql = format!(
            "INSERT INTO videos (id, status, original_name, size_bytes, manage_token_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, {now}, {now})",
            now = DB::NOW_MS
        );
        let insert = sqlx::query(&sql)
            .id(video.id)
            .text(video.status.as_str().to_owned())
            .text(video.original_name.clone())
            .int(to_db(video.size_bytes)?)
            .text(video.manage_token_hash.clone());
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // On any error the transaction is dropped, hence rolled back: no video without its job, no job (and no
        // notification) without its video; a duplicate id leaves the existing video's jobs alone. An `uploading`
        // video gets its job when its first bytes arrive (a job waiting for bytes would only hold a worker).
        DB::rows(&mut tx, insert).await.map_err(insert_error)?;
        let queued = video.status == VideoStatus::Processing
            && self.insert_job(&mut tx, video.id, JobKind::Process).await.map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        if queued {
            self.job_added(video.id, JobKind::Process);
        }
        Ok(())
    }

    async fn upload_finished(&self, id: VideoId) -> Result<bool, RepoError> {
        let sql = DB::announcing(
            &self.parts,
            &format!(
                "UPDATE videos SET status = 'processing', updated_at = {greatest}(updated_at, {now}) \
                 WHERE id = $1 AND status = 'uploading' RETURNING id",
                greatest = DB::GREATEST,
                now = DB::NOW_MS
            ),
            Channel::Uploads,
        );
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let finished = !DB::rows(&mut tx, sqlx::query(&sql).id(id)).await.map_err(db_error)?.is_empty();
        // Queued exactly as `create_video` queues (a no-op when its job is still queued or running).
        let queued = finished && self.insert_job(&mut tx, id, JobKind::Process).await.map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        if queued {
            self.job_added(id, JobKind::Process);
        }
        if finished {
            self.wakers.uploads_changed();
        }
        Ok(finished)
    }

    async fn get_video(&self, id: VideoId) -> Result<Option<Video>, RepoError> {
        let sql = format!("SELECT {VIDEO_COLUMNS} FROM videos WHERE id = $1");
        Ok(self.videos(sqlx::query(&sql).id(id)).await?.pop())
    }

    async fn update_video(&self, id: VideoId, update: &VideoUpdate) -> Result<bool, RepoError> {
        // NaN would poison ordering and the CHECKs: a NaN progress is a no-op, anything else is clamped; likewise the
        // playable seconds, which have no upper bound (an infinite number of them is ignored too).
        let progress = update.progress.filter(|p| !p.is_nan()).map(|p| p.clamp(0.0, 1.0));
        let playable_seconds = update.playable_seconds.filter(|s| s.is_finite() || *s < 0.0).map(|s| s.max(0.0));
        // SET expressions see the row's old values. `error` is final: a video that failed (or whose upload was
        // abandoned) never turns `ready` again because a worker that had not heard of it finished, and its first
        // failure is the one it keeps. Any other status clears the failure.
        let statement = format!(
            "UPDATE videos SET \
               status = CASE WHEN status = 'error' THEN status ELSE COALESCE($1, status) END, \
               playable = COALESCE($2, playable), \
               playable_seconds = COALESCE($3, playable_seconds), \
               delivery = COALESCE($4, delivery), \
               progress = COALESCE($5, progress), \
               duration_seconds = COALESCE($6, duration_seconds), \
               width = COALESCE($7, width), \
               height = COALESCE($8, height), \
               has_thumbnail = COALESCE($9, has_thumbnail), \
               error_code = CASE WHEN status = 'error' THEN error_code \
                                 WHEN COALESCE($1, status) = 'error' THEN COALESCE($10, error_code) END, \
               error_message = CASE WHEN status = 'error' THEN error_message \
                                    WHEN COALESCE($1, status) = 'error' THEN COALESCE($11, error_message) END, \
               updated_at = {greatest}(updated_at, {now}) \
             WHERE id = $12 RETURNING id",
            greatest = DB::GREATEST,
            now = DB::NOW_MS
        );
        // A new status may end (or finish) an upload that someone follows.
        let sql = match update.status {
            Some(_) => DB::announcing(&self.parts, &statement, Channel::Uploads),
            None => statement,
        };
        let query = sqlx::query(&sql)
            .text(update.status.map(|s| s.as_str().to_owned()))
            .flag(update.playable)
            .real(playable_seconds)
            .text(update.delivery.map(|d| d.as_str().to_owned()))
            .real(progress)
            .real(update.duration_seconds)
            .int(update.width.map(i64::from))
            .int(update.height.map(i64::from))
            .flag(update.has_thumbnail)
            .text(update.failure.as_ref().map(|f| f.code.clone()))
            .text(update.failure.as_ref().map(|f| f.message.clone()))
            .id(id);
        let updated = !self.rows(query).await.map_err(db_error)?.is_empty();
        if updated && update.status.is_some() {
            self.wakers.uploads_changed();
        }
        Ok(updated)
    }

    async fn delete_video(&self, id: VideoId) -> Result<bool, RepoError> {
        let sql = DB::announcing(&self.parts, "DELETE FROM videos WHERE id = $1 RETURNING id", Channel::Uploads);
        let deleted = !self.rows(sqlx::query(&sql).id(id)).await.map_err(db_error)?.is_empty();
        if deleted {
            self.wakers.uploads_changed();
        }
        Ok(deleted)
    }

    async fn list_videos(&self, limit: u32, offset: u32) -> Result<Vec<Video>, RepoError> {
        // The insertion order breaks ties between videos created in the same millisecond: later insert first.
        let sql = format!(
            "SELECT {VIDEO_COLUMNS} FROM videos ORDER BY created_at DESC, {order} DESC LIMIT $1 OFFSET $2",
            order = DB::INSERTION_ORDER
        );
        self.videos(sqlx::query(&sql).int(i64::from(limit)).int(i64::from(offset))).await
    }

    async fn processing_video_ids(&self) -> Result<Vec<VideoId>, RepoError> {
        self.ids_where("status = 'processing'").await
    }

    async fn ready_without_thumbnail(&self) -> Result<Vec<VideoId>, RepoError> {
        self.ids_where("status = 'ready' AND NOT has_thumbnail").await
    }

    async fn exists(&self, id: VideoId) -> Result<bool, RepoError> {
        let rows = self.rows(sqlx::query("SELECT id FROM videos WHERE id = $1").id(id)).await.map_err(db_error)?;
        Ok(!rows.is_empty())
    }

    async fn import_video(&self, video: &Video) -> Result<bool, RepoError> {
        let sql = format!(
            "INSERT INTO videos ({VIDEO_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (id) DO NOTHING RETURNING id"
        );
        let query = sqlx::query(&sql)
            .id(video.id)
            .text(video.original_name.clone())
            .int(to_db(video.size_bytes)?)
            .text(video.status.as_str().to_owned())
            .flag(Some(video.playable))
            .real(Some(video.playable_seconds))
            .text(video.delivery.as_str().to_owned())
            .real(Some(video.progress))
            .real(video.duration_seconds)
            .int(video.width.map(i64::from))
            .int(video.height.map(i64::from))
            .flag(Some(video.has_thumbnail))
            .text(video.failure.as_ref().map(|f| f.code.clone()))
            .text(video.failure.as_ref().map(|f| f.message.clone()))
            .text(video.manage_token_hash.clone())
            .stamp(video.created_at)
            .stamp(video.updated_at);
        Ok(!self.rows(query).await.map_err(db_error)?.is_empty())
    }
}

impl<DB: Sql> SqlDb<DB> {
    /// The videos a `SELECT {VIDEO_COLUMNS}` finds.
    async fn videos(&self, query: Statement<'_, DB>) -> Result<Vec<Video>, RepoError> {
        let rows = self.rows(query).await.map_err(db_error)?;
        rows.iter().map(|row| DB::video_row(row).map_err(db_error)?.into_video()).collect()
    }

    /// Ids of the videos matching a fixed (never user-supplied) condition, oldest first.
    async fn ids_where(&self, condition: &'static str) -> Result<Vec<VideoId>, RepoError> {
        let sql = format!(
            "SELECT id FROM videos WHERE {condition} ORDER BY created_at, {order}",
            order = DB::INSERTION_ORDER
        );
        self.ids(sqlx::query(&sql)).await
    }

    /// The ids (first column) of the rows a statement returns.
    pub(super) async fn ids(&self, query: Statement<'_, DB>) -> Result<Vec<VideoId>, RepoError> {
        let rows = self.rows(query).await.map_err(db_error)?;
        rows.iter().map(|row| parse_id(&DB::text_at(row, 0).map_err(db_error)?.unwrap_or_default())).collect()
    }
}
