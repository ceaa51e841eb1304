//! [`UploadRepo`] on SQLite: the `uploads` table (tus uploads in progress).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flick_domain::VideoId;
use flick_domain::ports::{RepoError, UploadRecord, UploadRepo, UploadWriteLock};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteDb;

const UPLOAD_COLUMNS: &str =
    "id, length, upload_offset, file_name, metadata, manage_token_hash, created_at, expires_at";

#[async_trait]
impl UploadRepo for SqliteDb {
    async fn create_upload(&self, upload: &UploadRecord) -> Result<(), RepoError> {
        let result =
            sqlx::query(&format!("INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"))
                .bind(upload.id.to_string())
                .bind(to_db(upload.length)?)
                .bind(to_db(upload.offset)?)
                .bind(&upload.file_name)
                .bind(&upload.metadata)
                .bind(&upload.manage_token_hash)
                .bind(upload.created_at.timestamp_millis())
                .bind(upload.expires_at.timestamp_millis())
                .execute(&self.pool)
                .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => Err(RepoError::Duplicate),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn get_upload(&self, id: VideoId) -> Result<Option<UploadRecord>, RepoError> {
        let row = sqlx::query(&format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = ?1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        row.as_ref().map(upload_from_row).transpose()
    }

    async fn set_upload_offset(&self, id: VideoId, offset: u64, expires_at: DateTime<Utc>) -> Result<bool, RepoError> {
        let result = sqlx::query("UPDATE uploads SET upload_offset = ?1, expires_at = ?2 WHERE id = ?3")
            .bind(to_db(offset)?)
            .bind(expires_at.timestamp_millis())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(result.rows_affected() > 0)
    }

    async fn delete_upload(&self, id: VideoId) -> Result<bool, RepoError> {
        let result = sqlx::query("DELETE FROM uploads WHERE id = ?1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(result.rows_affected() > 0)
    }

    async fn expired_uploads(&self, now: DateTime<Utc>) -> Result<Vec<VideoId>, RepoError> {
        let rows = sqlx::query("SELECT id FROM uploads WHERE expires_at <= ?1 ORDER BY expires_at")
            .bind(now.timestamp_millis())
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter().map(|row| parse_id(&get::<String>(row, "id")?)).collect()
    }

    async fn try_lock_upload(&self, _id: VideoId) -> Result<Option<UploadWriteLock>, RepoError> {
        // Nothing to hold: a SQLite database is taken to serve a single API process, whose requests the HTTP layer's
        // process-local lock already keeps apart. This is no lock between processes: API processes sharing one SQLite
        // file would need one of their own (a PostgreSQL database gives one).
        Ok(Some(UploadWriteLock::new(())))
    }

    async fn upload_exists(&self, id: VideoId) -> Result<bool, RepoError> {
        let row = sqlx::query("SELECT 1 FROM uploads WHERE id = ?1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(row.is_some())
    }
}

fn upload_from_row(row: &SqliteRow) -> Result<UploadRecord, RepoError> {
    let id = parse_id(&get::<String>(row, "id")?)?;
    let count = |column: &str| -> Result<u64, RepoError> {
        let v: i64 = get(row, column)?;
        u64::try_from(v).map_err(|_| RepoError::Corrupt(format!("upload {id}: {column} is {v}")))
    };
    let time = |column: &str| -> Result<DateTime<Utc>, RepoError> {
        let ms: i64 = get(row, column)?;
        DateTime::from_timestamp_millis(ms).ok_or_else(|| RepoError::Corrupt(format!("upload {id}: {column} is {ms}")))
    };
    Ok(UploadRecord {
        id,
        length: count("length")?,
        offset: count("upload_offset")?,
        file_name: get(row, "file_name")?,
        metadata: get(row, "metadata")?,
        manage_token_hash: get(row, "manage_token_hash")?,
        created_at: time("created_at")?,
        expires_at: time("expires_at")?,
    })
}

fn get<'r, T>(row: &'r SqliteRow, column: &str) -> Result<T, RepoError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(column).map_err(|e| RepoError::Corrupt(format!("column {column}: {e}")))
}

fn parse_id(text: &str) -> Result<VideoId, RepoError> {
    VideoId::parse(text).map_err(|_| RepoError::Corrupt(format!("malformed upload id {text:?}")))
}

fn to_db(n: u64) -> Result<i64, RepoError> {
    i64::try_from(n).map_err(|_| RepoError::Unavailable(format!("{n} does not fit the database")))
}

fn unavailable(e: sqlx::Error) -> RepoError {
    RepoError::Unavailable(e.to_string())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[tokio::test]
    async fn uploads_round_trip_advance_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(&format!("sqlite://{}/flick.db", dir.path().display())).await.unwrap();
        let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
        let id = VideoId::new();
        let record = UploadRecord {
            id,
            length: 100,
            offset: 0,
            file_name: Some("a.mp4".into()),
            metadata: Some("filename YS5tcDQ=".into()),
            manage_token_hash: "h".into(),
            created_at: now,
            expires_at: now + Duration::seconds(60),
        };
        db.create_upload(&record).await.unwrap();
        assert!(matches!(db.create_upload(&record).await, Err(RepoError::Duplicate)));
        assert_eq!(db.get_upload(id).await.unwrap(), Some(record.clone()));
        assert!(db.set_upload_offset(id, 40, now + Duration::seconds(120)).await.unwrap());
        assert_eq!(db.get_upload(id).await.unwrap().unwrap().offset, 40);
        // The CHECK keeps an offset past the length out of the table.
        assert!(db.set_upload_offset(id, 101, now).await.is_err());
        assert!(db.expired_uploads(now + Duration::seconds(119)).await.unwrap().is_empty());
        assert_eq!(db.expired_uploads(now + Duration::seconds(120)).await.unwrap(), vec![id]);
        assert!(db.delete_upload(id).await.unwrap());
        assert!(!db.delete_upload(id).await.unwrap());
        assert!(!db.upload_exists(id).await.unwrap());
    }
}
