//! [`UploadRepo`]: the `uploads` table (tus uploads in progress), and the wake-ups of those following them. Every
//! query waits for a place in the upload lane first (`SqlDb::upload_lane`): uploads never hold the whole pool.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flick_domain::VideoId;
use flick_domain::ports::{RepoError, UploadRecord, UploadRepo, UploadWriteLock};

use super::rows::UPLOAD_COLUMNS;
use super::{Bind, Channel, Sql, SqlDb, db_error, insert_error, to_db};

#[async_trait]
impl<DB: Sql> UploadRepo for SqlDb<DB> {
    async fn create_upload(&self, upload: &UploadRecord) -> Result<(), RepoError> {
        let _lane = self.upload_lane().await?;
        let sql =
            format!("INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)");
        let query = sqlx::query(&sql)
            .id(upload.id)
            .int(to_db(upload.length)?)
            .int(to_db(upload.offset)?)
            .int(upload.index_offset.map(to_db).transpose()?)
            .flag(Some(upload.partial))
            .text(upload.file_name.clone())
            .text(upload.metadata.clone())
            .text(upload.manage_token_hash.clone())
            .stamp(upload.created_at)
            .stamp(upload.expires_at)
            .text(upload.uploader.clone());
        self.rows(query).await.map_err(insert_error)?;
        Ok(())
    }

    async fn get_upload(&self, id: VideoId) -> Result<Option<UploadRecord>, RepoError> {
        let _lane = self.upload_lane().await?;
        let sql = format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1");
        let rows = self.rows(sqlx::query(&sql).id(id)).await.map_err(db_error)?;
        rows.first().map(|row| DB::upload_row(row).map_err(db_error)?.into_record()).transpose()
    }

    async fn set_upload_offset(&self, id: VideoId, offset: u64, expires_at: DateTime<Utc>) -> Result<bool, RepoError> {
        let _lane = self.upload_lane().await?;
        let sql = DB::announcing(
            &self.parts,
            "UPDATE uploads SET upload_offset = $1, expires_at = $2 WHERE id = $3 RETURNING id",
            Channel::Uploads,
        );
        let query = sqlx::query(&sql).int(to_db(offset)?).stamp(expires_at).id(id);
        let set = !self.rows(query).await.map_err(db_error)?.is_empty();
        if set {
            self.wakers.uploads_changed();
        }
        Ok(set)
    }

    async fn delete_upload(&self, id: VideoId) -> Result<bool, RepoError> {
        let _lane = self.upload_lane().await?;
        let sql = DB::announcing(&self.parts, "DELETE FROM uploads WHERE id = $1 RETURNING id", Channel::Uploads);
        let deleted = !self.rows(sqlx::query(&sql).id(id)).await.map_err(db_error)?.is_empty();
        if deleted {
            self.wakers.uploads_changed();
        }
        Ok(deleted)
    }

    async fn expired_uploads(&self, now: DateTime<Utc>) -> Result<Vec<VideoId>, RepoError> {
        self.ids(sqlx::query("SELECT id FROM uploads WHERE expires_at <= $1 ORDER BY expires_at").stamp(now)).await
    }

    async fn wait_for_progress(&self, max: Duration) {
        self.wakers.wait_for_progress(max).await;
    }

    async fn try_lock_upload(&self, id: VideoId) -> Result<Option<UploadWriteLock>, RepoError> {
        DB::try_lock_upload(self, id).await
    }

    async fn upload_exists(&self, id: VideoId) -> Result<bool, RepoError> {
        let _lane = self.upload_lane().await?;
        let rows = self.rows(sqlx::query("SELECT id FROM uploads WHERE id = $1").id(id)).await.map_err(db_error)?;
        Ok(!rows.is_empty())
    }
}
