use flick_domain::ports::{QueueError, RepoError, StoreError};
use flick_media::MediaError;
use flick_packaging::mp4::Mp4Error;
use flick_stream::StreamError;

/// Why a job did not finish.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The original's MP4 index cannot be used (a hostile or broken file).
    #[error(transparent)]
    Index(#[from] Mp4Error),
    #[error("the uploaded file is missing")]
    SourceMissing,
    #[error("reading the original: {0}")]
    Original(StreamError),
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

impl From<StreamError> for JobError {
    fn from(e: StreamError) -> Self {
        match e {
            StreamError::Gone => JobError::SourceMissing,
            StreamError::Store(e) => JobError::Store(e),
            StreamError::Repo(e) => JobError::Repo(e),
            other => JobError::Original(other),
        }
    }
}

impl JobError {
    /// Bad input: trying again cannot help.
    pub fn is_permanent(&self) -> bool {
        match self {
            JobError::Media(e) => e.is_permanent(),
            JobError::Index(_) | JobError::SourceMissing => true,
            _ => false,
        }
    }

    /// Counts a failed ffmpeg or ffprobe run in the metrics (the tool's own failures, not the input's refusal).
    pub(crate) fn count_ffmpeg_failure(&self) {
        if let JobError::Media(
            e @ (MediaError::FfmpegFailed { .. } | MediaError::Timeout { .. } | MediaError::CpuLimit { .. }),
        ) = self
        {
            flick_telemetry::metrics().ffmpeg_failed(e.code());
        }
    }

    /// The stable code and the sentence shown to the person who uploaded the video.
    pub fn for_user(&self) -> (String, String) {
        match self {
            JobError::Media(e) => (e.code().to_owned(), e.user_message()),
            JobError::Index(e) => (e.code().to_owned(), e.user_message()),
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
