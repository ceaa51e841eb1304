//! [`Repo`]: the `videos` table (and `secrets`).
//!
//! A video with `deleted_at` set is a tombstone: the owner's writes (`update_access`, `set_share_id`, `count_view`)
//! and the finishing of its upload leave it alone, and the listings leave it out; `get_video` and
//! `get_video_by_share` still return it (the caller checks `deleted_at`). Workers' `update_video` still applies to
//! it: a worker that has not heard of the deletion finishes harmlessly, and the tombstone stays one.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flick_domain::ports::{Budgets, JobKind, OverBudget, Repo, RepoError};
use flick_domain::video::LAST_VIEW_GRACE;
use flick_domain::{AccessUpdate, Caption, NewVideo, ShareId, Video, VideoId, VideoStatus, VideoUpdate};

use super::rows::VIDEO_COLUMNS;
use super::{Bind, Channel, Sql, SqlDb, Stamp, Statement, db_error, insert_error, parse_id, to_db, to_ms};

/// What [`SqlDb::ids_where`] adds to leave tombstones out.
const LIVE: &str = "deleted_at IS NULL";
/// How long the per-uploader byte budget remembers a grant.
const BUDGET_DAY: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// How often, at most, a video's `watched_at` is written: the retention policy counts in days.
const WATCHED_EVERY: chrono::TimeDelta = chrono::TimeDelta::hours(1);
/// Bytes granted to uploader `$1` since `$2`, bytes of its unfinished resumable uploads, and bytes of the whole
/// installation (every video, tombstones until purged; and the parts of concatenations, which have no video yet).
/// Sums are cast: PostgreSQL's SUM of a BIGINT is a NUMERIC.
const GRANTED_SINCE: &str =
    "(SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM upload_ledger WHERE uploader = $1 AND at > $2)";
const UNFINISHED: &str = "(SELECT CAST(COALESCE(SUM(length), 0) AS BIGINT) FROM uploads WHERE uploader = $1)";
const TOTAL: &str = "((SELECT CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) FROM videos) \
     + (SELECT CAST(COALESCE(SUM(length), 0) AS BIGINT) FROM uploads WHERE partial))";

#[async_trait]
impl<DB: Sql> Repo for SqlDb<DB> {
    async fn create_video(&self, video: &NewVideo) -> Result<(), RepoError> {
        let sql = format!(
            "INSERT INTO videos (id, share_id, status, original_name, size_bytes, manage_token_hash, uploader, \
               created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, {now}, {now})",
            now = DB::NOW_MS
        );
        let insert = sqlx::query(&sql)
            .id(video.id)
            .share(video.share_id)
            .text(video.status.as_str().to_owned())
            .text(video.original_name.clone())
            .int(to_db(video.size_bytes)?)
            .text(video.manage_token_hash.clone())
            .text(video.uploader.clone());
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
                 WHERE id = $1 AND status = 'uploading' AND deleted_at IS NULL RETURNING id",
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

    async fn get_video_by_share(&self, share: ShareId) -> Result<Option<Video>, RepoError> {
        let sql = format!("SELECT {VIDEO_COLUMNS} FROM videos WHERE share_id = $1");
        Ok(self.videos(sqlx::query(&sql).share(share)).await?.pop())
    }

    async fn update_access(&self, id: VideoId, update: &AccessUpdate) -> Result<Option<Video>, RepoError> {
        // Each optional setting is a flag (change it?) and its new value. An empty title is no title. A new view limit,
        // or none, starts counting again from zero.
        let sql = format!(
            "UPDATE videos SET \
               title = CASE WHEN $1 THEN NULLIF($2, '') ELSE title END, \
               password_hash = CASE WHEN $3 THEN $4 ELSE password_hash END, \
               expires_at = CASE WHEN $5 THEN $6 ELSE expires_at END, \
               max_views = CASE WHEN $7 THEN $8 ELSE max_views END, \
               views = CASE WHEN $7 THEN 0 ELSE views END, \
               last_view_at = CASE WHEN $7 THEN NULL ELSE last_view_at END, \
               allow_download = COALESCE($10, allow_download), \
               updated_at = {greatest}(updated_at, {now}) \
             WHERE id = $9 AND deleted_at IS NULL RETURNING {VIDEO_COLUMNS}",
            greatest = DB::GREATEST,
            now = DB::NOW_MS
        );
        let query = sqlx::query(&sql)
            .flag(Some(update.title.is_some()))
            .text(update.title.clone())
            .flag(Some(update.password_hash.is_some()))
            .text(update.password_hash.clone().flatten())
            .flag(Some(update.expires_at.is_some()))
            .stamp(update.expires_at.flatten().map(to_ms))
            .flag(Some(update.max_views.is_some()))
            .int(update.max_views.flatten().map(i64::from))
            .id(id)
            .flag(update.allow_download);
        Ok(self.videos(query).await?.pop())
    }

    async fn set_share_id(&self, id: VideoId, share: ShareId) -> Result<bool, RepoError> {
        let sql = format!(
            "UPDATE videos SET share_id = $1, updated_at = {greatest}(updated_at, {now}) \
             WHERE id = $2 AND deleted_at IS NULL RETURNING id",
            greatest = DB::GREATEST,
            now = DB::NOW_MS
        );
        // A share id another video has is refused by the unique index: `Duplicate`.
        let rows = self.rows(sqlx::query(&sql).share(share).id(id)).await.map_err(insert_error)?;
        Ok(!rows.is_empty())
    }

    async fn count_view(&self, id: VideoId, now: DateTime<Utc>) -> Result<Option<u32>, RepoError> {
        // One statement, so the test and the increment are one: on PostgreSQL a concurrent count waits for this row's
        // lock and then tests the WHERE again on the row as this one left it, so no view past the limit is counted.
        let sql = format!(
            "UPDATE videos SET views = views + 1, last_view_at = $1, updated_at = {greatest}(updated_at, {now}) \
             WHERE id = $2 AND deleted_at IS NULL AND max_views IS NOT NULL AND views < max_views RETURNING views",
            greatest = DB::GREATEST,
            now = DB::NOW_MS
        );
        let rows = self.rows(sqlx::query(&sql).stamp(to_ms(now)).id(id)).await.map_err(db_error)?;
        let Some(row) = rows.first() else { return Ok(None) };
        let views = DB::int_at(row, 0).map_err(db_error)?.unwrap_or_default();
        u32::try_from(views).map(Some).map_err(|_| RepoError::Corrupt(format!("video {id}: views is {views}")))
    }

    async fn mark_deleted(&self, id: VideoId, now: DateTime<Utc>) -> Result<bool, RepoError> {
        let sql = format!(
            "UPDATE videos SET deleted_at = $1, updated_at = {greatest}(updated_at, {now}) \
             WHERE id = $2 AND deleted_at IS NULL RETURNING id",
            greatest = DB::GREATEST,
            now = DB::NOW_MS
        );
        // Whoever follows its upload hears that it ended.
        let sql = DB::announcing(&self.parts, &sql, Channel::Uploads);
        let marked = !self.rows(sqlx::query(&sql).stamp(to_ms(now)).id(id)).await.map_err(db_error)?.is_empty();
        if marked {
            self.wakers.uploads_changed();
        }
        Ok(marked)
    }

    async fn mark_ended(&self, now: DateTime<Utc>) -> Result<Vec<VideoId>, RepoError> {
        // `Access::ended` in SQL: past its expiry, or its views used up and the last one older than the grace (or of
        // unknown age). The second line repeats the WHERE of the partial index `videos_ending` word for word, so
        // that both databases see the index covers the sweep. One statement: a video is ended by what it holds when
        // the statement runs (on PostgreSQL a row an owner changes meanwhile is tested again as changed).
        let sql = format!(
            "UPDATE videos SET deleted_at = $1, updated_at = {greatest}(updated_at, {now}) \
             WHERE deleted_at IS NULL AND (expires_at IS NOT NULL OR max_views IS NOT NULL) \
               AND (expires_at <= $1 \
                    OR (max_views IS NOT NULL AND views >= max_views \
                        AND (last_view_at IS NULL OR last_view_at <= $2))) \
             RETURNING id",
            greatest = DB::GREATEST,
            now = DB::NOW_MS
        );
        let sql = DB::announcing(&self.parts, &sql, Channel::Uploads);
        let now = to_ms(now);
        let ended = self.ids(sqlx::query(&sql).stamp(now).stamp(now - LAST_VIEW_GRACE)).await?;
        if !ended.is_empty() {
            self.wakers.uploads_changed();
        }
        Ok(ended)
    }

    async fn tombstones(&self) -> Result<Vec<(VideoId, DateTime<Utc>)>, RepoError> {
        let sql = format!(
            "SELECT id, deleted_at FROM videos WHERE deleted_at IS NOT NULL ORDER BY deleted_at, {order}",
            order = DB::INSERTION_ORDER
        );
        let rows = self.rows(sqlx::query(&sql)).await.map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let id = parse_id(&DB::text_at(row, 0).map_err(db_error)?.unwrap_or_default())?;
                let stamp = DB::stamp_at(row, 1).map_err(db_error)?;
                let at = stamp.as_ref().and_then(|s| s.instant());
                at.map(|at| (id, at)).ok_or_else(|| RepoError::Corrupt(format!("video {id}: deleted_at is {stamp:?}")))
            })
            .collect()
    }

    async fn reserve_bytes(
        &self,
        uploader: &str,
        bytes: u64,
        unfinished: bool,
        budgets: &Budgets,
        now: DateTime<Utc>,
    ) -> Result<Result<(), OverBudget>, RepoError> {
        let limit = |n: u64| to_db(n);
        let (day, open, total) =
            (limit(budgets.uploader_per_day)?, limit(budgets.uploader_unfinished)?, limit(budgets.total)?);
        let open = if unfinished { open } else { 0 };
        let since = to_ms(now - BUDGET_DAY);
        // One statement: the sums and the grant see the same rows (concurrent grants on PostgreSQL may each pass;
        // the per-address concurrency limit bounds that slack).
        let sql = format!(
            "INSERT INTO upload_ledger (uploader, at, bytes) \
             SELECT $1, $3, $4 \
             WHERE ($5 = 0 OR {GRANTED_SINCE} + $4 <= $5) \
               AND ($6 = 0 OR {UNFINISHED} + $4 <= $6) \
               AND ($7 = 0 OR {TOTAL} + $4 <= $7) \
             RETURNING bytes"
        );
        let bytes = to_db(bytes)?;
        let query = sqlx::query(&sql)
            .text(uploader.to_owned())
            .stamp(since)
            .stamp(to_ms(now))
            .int(bytes)
            .int(day)
            .int(open)
            .int(total);
        if !self.rows(query).await.map_err(db_error)?.is_empty() {
            return Ok(Ok(()));
        }
        // Refused: which budget? The installation's first (it is everyone's), then the unfinished uploads'.
        let sql = format!("SELECT {GRANTED_SINCE}, {UNFINISHED}, {TOTAL}");
        let rows = self.rows(sqlx::query(&sql).text(uploader.to_owned()).stamp(since)).await.map_err(db_error)?;
        let row = rows.first().ok_or_else(|| RepoError::Unavailable("no answer to the usage query".into()))?;
        let used = |i| DB::int_at(row, i).map(Option::unwrap_or_default).map_err(db_error);
        let over = |used: i64, limit: i64| limit > 0 && used.saturating_add(bytes) > limit;
        Ok(Err(if over(used(2)?, total) {
            OverBudget::Total
        } else if over(used(1)?, open) {
            OverBudget::Unfinished
        } else {
            OverBudget::Day
        }))
    }

    async fn prune_grants(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let query = sqlx::query("DELETE FROM upload_ledger WHERE at < $1 RETURNING bytes").stamp(to_ms(before));
        Ok(self.rows(query).await.map_err(db_error)?.len() as u64)
    }

    async fn touch_watched(&self, id: VideoId, now: DateTime<Utc>) -> Result<(), RepoError> {
        let query = sqlx::query(
            "UPDATE videos SET watched_at = $1 WHERE id = $2 AND (watched_at IS NULL OR watched_at < $3) RETURNING id",
        );
        self.rows(query.stamp(to_ms(now)).id(id).stamp(to_ms(now - WATCHED_EVERY))).await.map_err(db_error)?;
        Ok(())
    }

    async fn mark_unwatched(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> Result<Vec<VideoId>, RepoError> {
        let sql = format!(
            "UPDATE videos SET deleted_at = $1, updated_at = {greatest}(updated_at, {now}) \
             WHERE deleted_at IS NULL AND status IN ('ready', 'error') \
               AND COALESCE(watched_at, created_at) < $2 \
             RETURNING id",
            greatest = DB::GREATEST,
            now = DB::NOW_MS
        );
        let sql = DB::announcing(&self.parts, &sql, Channel::Uploads);
        let ended = self.ids(sqlx::query(&sql).stamp(to_ms(now)).stamp(to_ms(before))).await?;
        if !ended.is_empty() {
            self.wakers.uploads_changed();
        }
        Ok(ended)
    }

    async fn secret(&self, name: &str, fresh: &[u8]) -> Result<Vec<u8>, RepoError> {
        // Whoever inserts first wins; everyone (the winner included) then reads what was stored. On PostgreSQL an
        // INSERT meeting a concurrent uncommitted one waits for it, so the SELECT after it sees the committed row.
        let insert = "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
        self.rows(sqlx::query(insert).text(name.to_owned()).text(hex::encode(fresh))).await.map_err(db_error)?;
        let rows = self
            .rows(sqlx::query("SELECT value FROM secrets WHERE name = $1").text(name.to_owned()))
            .await
            .map_err(db_error)?;
        let stored = match rows.first() {
            Some(row) => DB::text_at(row, 0).map_err(db_error)?.unwrap_or_default(),
            None => return Err(RepoError::Unavailable(format!("secret {name:?} vanished after its insert"))),
        };
        hex::decode(&stored).map_err(|_| RepoError::Corrupt(format!("secret {name:?} is not hex")))
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
               has_storyboard = COALESCE($13, has_storyboard), \
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
            .id(id)
            .flag(update.has_storyboard);
        let updated = !self.rows(query).await.map_err(db_error)?.is_empty();
        if updated && update.status.is_some() {
            self.wakers.uploads_changed();
        }
        Ok(updated)
    }

    async fn delete_video(&self, id: VideoId) -> Result<bool, RepoError> {
        let sql = DB::announcing(&self.parts, "DELETE FROM videos WHERE id = $1 RETURNING id", Channel::Uploads);
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        DB::rows(&mut tx, sqlx::query("DELETE FROM captions WHERE video_id = $1 RETURNING video_id").id(id))
            .await
            .map_err(db_error)?;
        let deleted = !DB::rows(&mut tx, sqlx::query(&sql).id(id)).await.map_err(db_error)?.is_empty();
        tx.commit().await.map_err(db_error)?;
        if deleted {
            self.wakers.uploads_changed();
        }
        Ok(deleted)
    }

    async fn list_videos(&self, limit: u32, offset: u32) -> Result<Vec<Video>, RepoError> {
        // The insertion order breaks ties between videos created in the same millisecond: later insert first.
        let sql = format!(
            "SELECT {VIDEO_COLUMNS} FROM videos WHERE {LIVE} \
             ORDER BY created_at DESC, {order} DESC LIMIT $1 OFFSET $2",
            order = DB::INSERTION_ORDER
        );
        self.videos(sqlx::query(&sql).int(i64::from(limit)).int(i64::from(offset))).await
    }

    async fn processing_video_ids(&self) -> Result<Vec<VideoId>, RepoError> {
        self.ids_where("status = 'processing'").await
    }

    async fn captions(&self, id: VideoId) -> Result<Vec<Caption>, RepoError> {
        let query =
            sqlx::query("SELECT lang, label FROM captions WHERE video_id = $1 ORDER BY created_at, lang").id(id);
        let rows = self.rows(query).await.map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let text = |i| DB::text_at(row, i).map_err(db_error).map(Option::unwrap_or_default);
                Ok(Caption { lang: text(0)?, label: text(1)? })
            })
            .collect()
    }

    async fn put_caption(&self, id: VideoId, caption: &Caption, max: u32) -> Result<bool, RepoError> {
        // One statement: the video must be live, and the track fit under the limit (a new language) or replace one.
        let sql = format!(
            "INSERT INTO captions (video_id, lang, label, created_at) \
             SELECT $1, $2, $3, {now} WHERE EXISTS (SELECT 1 FROM videos WHERE id = $1 AND {LIVE}) \
               AND (SELECT COUNT(*) FROM captions WHERE video_id = $1 AND lang <> $2) < $4 \
             ON CONFLICT (video_id, lang) DO UPDATE SET label = excluded.label \
             RETURNING lang",
            now = DB::NOW_MS
        );
        let query = sqlx::query(&sql).id(id).text(caption.lang.clone()).text(caption.label.clone()).int(i64::from(max));
        Ok(!self.rows(query).await.map_err(db_error)?.is_empty())
    }

    async fn delete_caption(&self, id: VideoId, lang: &str) -> Result<bool, RepoError> {
        let query = sqlx::query("DELETE FROM captions WHERE video_id = $1 AND lang = $2 RETURNING lang")
            .id(id)
            .text(lang.to_owned());
        Ok(!self.rows(query).await.map_err(db_error)?.is_empty())
    }

    async fn ready_without_thumbnail(&self) -> Result<Vec<VideoId>, RepoError> {
        self.ids_where("status = 'ready' AND NOT has_thumbnail").await
    }

    async fn exists(&self, id: VideoId) -> Result<bool, RepoError> {
        let rows = self.rows(sqlx::query("SELECT id FROM videos WHERE id = $1").id(id)).await.map_err(db_error)?;
        Ok(!rows.is_empty())
    }

    async fn import_video(&self, video: &Video) -> Result<bool, RepoError> {
        let placeholders: Vec<String> = (1..=VIDEO_COLUMNS.split(',').count()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "INSERT INTO videos ({VIDEO_COLUMNS}) VALUES ({}) ON CONFLICT (id) DO NOTHING RETURNING id",
            placeholders.join(", ")
        );
        let access = &video.access;
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
            .stamp(video.updated_at)
            .share(video.share_id)
            .text(video.title.clone())
            .text(access.password_hash.clone())
            .stamp(access.expires_at)
            .int(access.max_views.map(i64::from))
            .int(i64::from(access.views))
            .stamp(access.last_view_at)
            .stamp(video.deleted_at)
            .flag(Some(video.has_storyboard))
            .flag(access.allow_download);
        // Another video with this share id is refused by the unique index: `Duplicate`.
        Ok(!self.rows(query).await.map_err(insert_error)?.is_empty())
    }
}

impl<DB: Sql> SqlDb<DB> {
    /// The videos a `SELECT {VIDEO_COLUMNS}` finds.
    async fn videos(&self, query: Statement<'_, DB>) -> Result<Vec<Video>, RepoError> {
        let rows = self.rows(query).await.map_err(db_error)?;
        rows.iter().map(|row| DB::video_row(row).map_err(db_error)?.into_video()).collect()
    }

    /// Ids of the videos matching a fixed (never user-supplied) condition, oldest first, tombstones left out.
    async fn ids_where(&self, condition: &'static str) -> Result<Vec<VideoId>, RepoError> {
        let sql = format!(
            "SELECT id FROM videos WHERE {LIVE} AND {condition} ORDER BY created_at, {order}",
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
