//! [`UploadRepo`] on PostgreSQL: the `uploads` table (tus uploads in progress), visible to every API node.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flick_domain::VideoId;
use flick_domain::ports::{RepoError, UploadRecord, UploadRepo};
use sqlx::postgres::PgRow;

use super::PgDb;
use super::repo::{db_error, get};

const UPLOAD_COLUMNS: &str =
    "id, length, upload_offset, file_name, metadata, manage_token_hash, created_at, expires_at";

#[async_trait]
impl UploadRepo for PgDb {
    async fn create_upload(&self, upload: &UploadRecord) -> Result<(), RepoError> {
        let result =
            sqlx::query(&format!("INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
                .bind(upload.id.to_string())
                .bind(to_db(upload.length)?)
                .bind(to_db(upload.offset)?)
                .bind(&upload.file_name)
                .bind(&upload.metadata)
                .bind(&upload.manage_token_hash)
                .bind(upload.created_at)
                .bind(upload.expires_at)
                .execute(&self.pool)
                .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => Err(RepoError::Duplicate),
            Err(e) => Err(db_error(e)),
        }
    }

    async fn get_upload(&self, id: VideoId) -> Result<Option<UploadRecord>, RepoError> {
        let row = sqlx::query(&format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(upload_from_row).transpose()
    }

    async fn set_upload_offset(&self, id: VideoId, offset: u64, expires_at: DateTime<Utc>) -> Result<bool, RepoError> {
        let result = sqlx::query("UPDATE uploads SET upload_offset = $1, expires_at = $2 WHERE id = $3")
            .bind(to_db(offset)?)
            .bind(expires_at)
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn delete_upload(&self, id: VideoId) -> Result<bool, RepoError> {
        let result = sqlx::query("DELETE FROM uploads WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn expired_uploads(&self, now: DateTime<Utc>) -> Result<Vec<VideoId>, RepoError> {
        let rows = sqlx::query("SELECT id FROM uploads WHERE expires_at <= $1 ORDER BY expires_at")
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(|row| parse_id(&get::<String>(row, "id")?)).collect()
    }

    async fn upload_exists(&self, id: VideoId) -> Result<bool, RepoError> {
        let row = sqlx::query("SELECT 1 FROM uploads WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(row.is_some())
    }
}

fn upload_from_row(row: &PgRow) -> Result<UploadRecord, RepoError> {
    let id = parse_id(&get::<String>(row, "id")?)?;
    let count = |column: &str| -> Result<u64, RepoError> {
        let v: i64 = get(row, column)?;
        u64::try_from(v).map_err(|_| RepoError::Corrupt(format!("upload {id}: {column} is {v}")))
    };
    Ok(UploadRecord {
        id,
        length: count("length")?,
        offset: count("upload_offset")?,
        file_name: get(row, "file_name")?,
        metadata: get(row, "metadata")?,
        manage_token_hash: get(row, "manage_token_hash")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
    })
}

fn parse_id(text: &str) -> Result<VideoId, RepoError> {
    VideoId::parse(text).map_err(|_| RepoError::Corrupt(format!("malformed upload id {text:?}")))
}

fn to_db(n: u64) -> Result<i64, RepoError> {
    i64::try_from(n).map_err(|_| RepoError::Unavailable(format!("{n} does not fit the database")))
}
