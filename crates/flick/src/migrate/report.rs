//! What a run shows: a progress bar on a terminal, log lines above it, and the summary on stdout.

use super::copy::Tally;
use super::verify::Verification;
use super::*;

/// The outcome, printed on stdout.
pub(super) struct Summary {
    pub(super) source: String,
    pub(super) destination: String,
    pub(super) videos: usize,
    pub(super) unfinished: usize,
    pub(super) verify_content: bool,
    pub(super) tally: Tally,
    pub(super) check: Verification,
    pub(super) elapsed: Duration,
}

impl Summary {
    pub(super) fn print(&self) {
        let (t, c) = (&self.tally, &self.check);
        let mut out = String::new();
        out.push_str(&format!("source: {}\ndestination: {}\n", self.source, self.destination));
        out.push_str(&format!(
            "videos: {} copied, {} already there, {} failed (of {})\n",
            t.videos_copied, t.videos_present, t.videos_failed, self.videos
        ));
        out.push_str(&format!(
            "blobs: {} copied, {} already there ({} bytes copied, {:.1} MiB)\n",
            t.blobs_copied,
            t.blobs_present,
            t.bytes_copied,
            t.bytes_copied as f64 / 1_048_576.0
        ));
        out.push_str(&format!(
            "jobs queued: {} (videos still processing, ready videos without thumbnail)\n",
            t.jobs_queued
        ));
        out.push_str(&format!(
            "unfinished uploads not moved: {} (resumable uploads in progress are not copied: their clients upload \
             again)\n",
            self.unfinished
        ));
        let what = if self.verify_content { "the same length and SHA-256" } else { "the same length" };
        if c.problems.is_empty() {
            out.push_str(&format!(
                "verification: passed ({} records equal, {} blobs with {what})\n",
                c.records, c.blobs
            ));
        } else {
            out.push_str(&format!(
                "verification: FAILED ({} problem(s) in {} records and {} blobs checked)\n",
                c.problems.len(),
                c.records,
                c.blobs
            ));
            for problem in c.problems.iter().take(PROBLEMS_SHOWN) {
                out.push_str(&format!("  {problem}\n"));
            }
            if c.problems.len() > PROBLEMS_SHOWN {
                out.push_str(&format!("  … and {} more (in the log)\n", c.problems.len() - PROBLEMS_SHOWN));
            }
        }
        out.push_str(&format!("time: {:.1} s\n", self.elapsed.as_secs_f64()));
        let mut stdout = io::stdout().lock();
        let _ = stdout.write_all(out.as_bytes());
        let _ = stdout.flush();
    }
}

/// A bar counting videos, hidden until there is something to count (and on stderr only when it is a terminal).
pub(super) fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} videos, {elapsed}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// Log lines on stderr, written above the progress bar rather than through it.
pub(super) fn init_logging(config: &Config, bar: &ProgressBar) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.filter));
    let bar = bar.clone();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || BarWriter(bar.clone()))
        .with_ansi(io::stderr().is_terminal());
    let _ = if config.log.format == "json" { builder.json().try_init() } else { builder.try_init() };
}

/// Writes to stderr with the progress bar cleared meanwhile.
pub(super) struct BarWriter(ProgressBar);

impl Write for BarWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.suspend(|| io::stderr().write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}
