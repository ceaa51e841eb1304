use flick_domain::ports::{QueueError, RepoError, StoreError};
use flick_media::MediaError;

/// Why a job did not finish.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("the uploaded file is missing")]
    SourceMissing,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("metadata: {0}")]
    Repo(#[from] RepoError),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    #[error("work folder: {0}")]
    Io(#[from] std::io::Error),
    #[error("the job's lease was lost")]
    LeaseLost,
    #[error("the server is shutting down")]
    Shutdown,
}

impl JobError {
    /// Bad input: trying again cannot help.
    pub fn is_permanent(&self) -> bool {
        match self {
            JobError::Media(e) => e.is_permanent(),
            JobError::SourceMissing => true,
            _ => false,
        }
    }

    /// Counts a failed ffmpeg or ffprobe run in the metrics (the tool's own failures, not the input's refusal).
    pub(crate) fn count_ffmpeg_failure(&self) {
        if let JobError::Media(e @ (MediaError::FfmpegFailed { .. } | MediaError::Timeout { .. })) = self {
            flick_telemetry::metrics().ffmpeg_failed(e.code());
        }
    }

    /// The stable code and the sentence shown to the person who uploaded the video.
    pub fn for_user(&self) -> (String, String) {
        match self {
            JobError::Media(e) => (e.code().to_owned(), e.user_message()),
            JobError::SourceMissing => {
                ("source_missing".to_owned(), "The uploaded file is missing; please upload it again.".to_owned())
            }
            _ => (
                "processing_failed".to_owned(),
                "Processing failed several times on our side; please try uploading again later.".to_owned(),
            ),
        }
    }
}
