//! The one mapping from failures to HTTP: a status and `{"error":{"code","message"}}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flick_domain::ports::{OverBudget, QueueError, RepoError, StoreError};

/// tus's own status for a chunk whose checksum does not match.
const CHECKSUM_MISMATCH: StatusCode = match StatusCode::from_u16(460) {
    Ok(status) => status,
    Err(_) => StatusCode::BAD_REQUEST,
};

/// The error code of an error response, kept in its extensions for the metrics (see `limits::limit_uploads`).
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

/// Every way a request can fail, with what the client is told.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("the file is empty")]
    EmptyUpload,
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    UnsupportedMedia(String),
    #[error("this request needs the video's manage token")]
    Unauthorized,
    #[error("the manage token does not match this video")]
    Forbidden,
    #[error("requested range is not satisfiable")]
    RangeNotSatisfiable { total_len: u64 },
    #[error("the upload was interrupted")]
    UploadAborted,
    #[error("the server is out of storage space; please try again later")]
    InsufficientStorage,
    #[error("this server speaks tus 1.0.0: send Tus-Resumable: 1.0.0")]
    TusVersion,
    #[error("the upload is at offset {expected}; send Upload-Offset: {expected}")]
    OffsetMismatch { expected: u64 },
    #[error("the chunk does not match its Upload-Checksum and was discarded")]
    ChecksumMismatch,
    #[error("another request is writing to this upload; try again in a moment")]
    UploadLocked,
    #[error("the upload expired and was deleted; start it again")]
    UploadExpired,
    #[error("the upload is complete: delete the video with DELETE /api/video/{{id}} and its manage token")]
    UploadFinished,
    #[error("the chunk goes past the upload's announced length")]
    ExceedsUploadLength,
    #[error("too many uploads: {reason}; try again in {retry_after} seconds")]
    TooManyRequests { retry_after: u64, reason: String },
    /// A new upload would overrun a byte budget ([`OverBudget`]).
    #[error("{}", budget_message(*.0))]
    OverBudget(OverBudget),
    #[error("the upload was too slow (under {min_bytes_per_second} bytes per second) and was stopped")]
    UploadTooSlow { min_bytes_per_second: u64 },
    /// An owner's setting that cannot be taken: its field's code (`invalid_title`, ...) and why.
    #[error("{message}")]
    InvalidSetting { code: &'static str, message: String },
    #[error("this video is protected by a password")]
    PasswordRequired,
    #[error("wrong password")]
    WrongPassword,
    #[error("too many wrong passwords; try again in {retry_after} seconds")]
    TooManyAttempts { retry_after: u64 },
    /// The upload's own bytes cannot be made into what was asked (a segment whose samples contradict the index): the
    /// same on every try. `code` is the index error's.
    #[error("{message}")]
    DamagedMedia { code: &'static str, message: String },
    #[error("a video has at most {max} caption tracks: remove one first")]
    TooManyCaptions { max: u32 },
    #[error("internal error")]
    Internal(String),
    /// Every database connection a request of its kind may use stayed busy: a moment's overload, not a failure.
    #[error("the server is busy; please try again in a moment")]
    Busy,
    /// `/readyz`: a dependency (database, store) does not answer; what failed, without secrets.
    #[error("not ready: {0}")]
    NotReady(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::EmptyUpload => (StatusCode::BAD_REQUEST, "empty_file"),
            ApiError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::UnsupportedMedia(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::RangeNotSatisfiable { .. } => (StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable"),
            ApiError::UploadAborted => (StatusCode::BAD_REQUEST, "upload_aborted"),
            ApiError::InsufficientStorage => (StatusCode::INSUFFICIENT_STORAGE, "insufficient_storage"),
            ApiError::TusVersion => (StatusCode::PRECONDITION_FAILED, "unsupported_tus_version"),
            ApiError::OffsetMismatch { .. } => (StatusCode::CONFLICT, "offset_mismatch"),
            ApiError::ChecksumMismatch => (CHECKSUM_MISMATCH, "checksum_mismatch"),
            ApiError::UploadLocked => (StatusCode::LOCKED, "upload_locked"),
            ApiError::UploadExpired => (StatusCode::GONE, "upload_expired"),
            ApiError::UploadFinished => (StatusCode::FORBIDDEN, "upload_finished"),
            ApiError::ExceedsUploadLength => (StatusCode::PAYLOAD_TOO_LARGE, "exceeds_upload_length"),
            ApiError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::OverBudget(OverBudget::Day) => (StatusCode::TOO_MANY_REQUESTS, "daily_quota_exceeded"),
            ApiError::OverBudget(OverBudget::Unfinished) => (StatusCode::TOO_MANY_REQUESTS, "too_many_unfinished"),
            ApiError::OverBudget(OverBudget::Total) => (StatusCode::INSUFFICIENT_STORAGE, "storage_full"),
            ApiError::UploadTooSlow { .. } => (StatusCode::REQUEST_TIMEOUT, "upload_too_slow"),
            ApiError::InvalidSetting { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::PasswordRequired => (StatusCode::UNAUTHORIZED, "password_required"),
            ApiError::WrongPassword => (StatusCode::UNAUTHORIZED, "wrong_password"),
            ApiError::TooManyAttempts { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            ApiError::DamagedMedia { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            ApiError::TooManyCaptions { .. } => (StatusCode::CONFLICT, "too_many_captions"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::NotReady(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            ApiError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "server_busy"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let bearer = matches!(self, ApiError::Unauthorized);
        let message = match &self {
            ApiError::Internal(detail) => {
                // Details stay in the log; the client gets a safe sentence.
                tracing::error!(%detail, "internal error");
                "Something went wrong on our side. Please try again.".to_owned()
            }
            other => capitalise(&other.to_string()),
        };
        let body = serde_json::json!({ "error": { "code": code, "message": message } });
        let mut response = (status, Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(code));
        if matches!(status.as_u16(), 429 | 503 | 507) {
            flick_telemetry::metrics().limited(code);
        }
        if let ApiError::RangeNotSatisfiable { total_len } = self
            && let Ok(v) = HeaderValue::from_str(&format!("bytes */{total_len}"))
        {
            response.headers_mut().insert(header::CONTENT_RANGE, v);
        }
        if let ApiError::TooManyRequests { retry_after, .. } | ApiError::TooManyAttempts { retry_after } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if let ApiError::Busy = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1u64));
        }
        if let ApiError::OverBudget(over @ (OverBudget::Day | OverBudget::Unfinished)) = self {
            // A day's budget frees as its grants age; unfinished bytes as uploads finish or expire.
            let after: u64 = if over == OverBudget::Day { 3600 } else { 600 };
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(after));
        }
        // The password is not an HTTP authentication scheme: only the manage token is asked for as a Bearer.
        if bearer {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// What an uploader is told about the budget its upload would overrun.
fn budget_message(over: OverBudget) -> &'static str {
    match over {
        OverBudget::Day => "you have uploaded as much as one address may in a day; try again later",
        OverBudget::Unfinished => "you have too many unfinished uploads; finish or cancel one before starting another",
        OverBudget::Total => "this server has no room for more videos right now; please try again later",
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => {
            let mut out: String = first.to_uppercase().collect();
            out.push_str(chars.as_str());
            if !out.ends_with('.') {
                out.push('.');
            }
            out
        }
        None => String::new(),
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        if e.raw_os_error() == Some(28) {
            // ENOSPC
            ApiError::InsufficientStorage
        } else {
            ApiError::Internal(e.to_string())
        }
    }
}

impl From<RepoError> for ApiError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Busy(detail) => {
                tracing::warn!(%detail, "database busy: request refused with 503");
                ApiError::Busy
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::RangeNotSatisfiable { total_len } => ApiError::RangeNotSatisfiable { total_len },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<flick_stream::StreamError> for ApiError {
    fn from(e: flick_stream::StreamError) -> Self {
        match e {
            flick_stream::StreamError::Gone => ApiError::NotFound,
            flick_stream::StreamError::Store(e) => e.into(),
            flick_stream::StreamError::Segment(e) => {
                tracing::warn!(error = %e, "a segment of the upload cannot be served");
                ApiError::DamagedMedia { code: e.code(), message: e.user_message() }
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        ApiError::Internal(e.to_string())
    }
}
