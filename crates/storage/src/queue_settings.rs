//! How the job queue retries failed jobs (shared by the SQLite and PostgreSQL queues).

use std::time::Duration;

/// How the job queue retries failed jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// Claims a job gets before a retryable failure is given up (at least 1).
    pub max_attempts: u32,
    /// Backoff after the first failed attempt; each further attempt waits 4 times longer.
    pub backoff_base: Duration,
    /// Longest backoff.
    pub backoff_cap: Duration,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings { max_attempts: 3, backoff_base: Duration::from_secs(2), backoff_cap: Duration::from_secs(300) }
    }
}

impl From<u32> for QueueSettings {
    /// The default settings with `max_attempts` attempts.
    fn from(max_attempts: u32) -> Self {
        QueueSettings { max_attempts, ..QueueSettings::default() }
    }
}

impl QueueSettings {
    /// The wait before retrying after failed attempt number `attempt` (1-based): base * 4^(attempt-1), capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        let factor = 4u32.checked_pow(exponent).unwrap_or(u32::MAX);
        self.backoff_base.checked_mul(factor).unwrap_or(self.backoff_cap).min(self.backoff_cap)
    }
}
