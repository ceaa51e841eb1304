//! The one way this crate runs ffmpeg and ffprobe.
//!
//! No shell; stdin is null or fed from a byte stream; stdout is collected (bounded) or streamed
//! line by line; stderr is read concurrently into a bounded ring so the pipe never fills and the
//! error message has the tail of the log. The child gets its own process group, lower priority and
//! resource limits (set in the child between fork and exec). On timeout, on error and when the
//! future is dropped, the whole group is SIGKILLed and the child reaped, so no ffmpeg outlives the
//! job that started it.
//!
//! A fed run reads an upload as it arrives. Its wall-clock timeout starts when the feed has ended
//! ([`TimeoutStart::FeedEnd`]: the input comes at the uploader's pace), or at once when the run
//! must finish in time whatever the feed does ([`TimeoutStart::Spawn`]). A child that exits before
//! the feed has ended (ffprobe reads only the start) ends the run at once: the feed is dropped, and
//! the child closing its input is not an error. A feed that fails (the upload was abandoned) kills
//! the child before its input is closed, so a truncated input never looks like a complete one.
//!
//! `child`: the limits a child runs under and the guard that kills and reaps it; `pipes`: reading its
//! output.

mod child;
mod pipes;

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use flick_domain::ports::ByteStream;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::process::{ChildStdin, Command};
use tokio::time::Instant;

use crate::error::MediaError;
use child::{ChildGuard, ChildLimits};
use pipes::{collect, lines, tail};

/// How much of stderr is kept for error messages.
const STDERR_TAIL_BYTES: usize = 8 * 1024;
/// The wall time the CPU limit of a run fed at the uploader's pace is computed from: its timeout
/// does not bound how long it is fed, and what it reads does bound its work (at most the longest
/// video Flick accepts, 3 h, encoded at a quarter of real time is 12 h).
const FED_RUN_WALL_BUDGET: Duration = Duration::from_secs(12 * 3600);

/// What to do with the child's stdout.
enum Stdout<'a> {
    /// Not needed: connected to /dev/null.
    Null,
    /// Kept in memory; more than `max_bytes` is an error (hostile input can make ffprobe verbose).
    Collect { max_bytes: usize },
    /// Each complete line is handed to the callback as it arrives (ffmpeg `-progress pipe:1`).
    Lines(&'a mut (dyn FnMut(&str) + Send)),
}

/// When the wall-clock timeout of a run fed from a stream starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeoutStart {
    /// When the feed has ended (or the child has closed its input): the input arrives at the
    /// uploader's pace, and only the work left after it counts.
    FeedEnd,
    /// When the child starts: the run must finish in time however slowly it is fed.
    Spawn,
}

/// What the child reads on stdin.
enum Stdin {
    /// Nothing: /dev/null.
    Null,
    /// The bytes of a stream, then EOF.
    Feed { stream: ByteStream, timeout_start: TimeoutStart },
}

/// One run of a tool, built with [`crate::Tools::ffmpeg`] or [`crate::Tools::ffprobe`] (or
/// [`Invocation::new`] for another program), then adjusted and [`run`](Invocation::run).
pub(crate) struct Invocation<'a> {
    /// Short name for messages and logs ("ffmpeg", "ffprobe").
    tool: &'static str,
    program: &'a Path,
    args: Vec<OsString>,
    timeout: Duration,
    /// Niceness of the child (0..=19); lowering below the parent's is silently skipped.
    nice: i32,
    /// The child's CPU-time limit in seconds; `None`: derived from the wall-clock budget.
    cpu_seconds: Option<u64>,
    stdout: Stdout<'a>,
    stdin: Stdin,
}

impl<'a> Invocation<'a> {
    /// A run of `program` with `args`, stopped after `timeout`; stdin and stdout are /dev/null.
    pub fn new(tool: &'static str, program: &'a Path, nice: i32, args: Vec<OsString>, timeout: Duration) -> Self {
        Invocation { tool, program, args, timeout, nice, cpu_seconds: None, stdout: Stdout::Null, stdin: Stdin::Null }
    }

    /// Limits the child to `seconds` of CPU time (all its threads together); past it, it is killed and the run is
    /// [`MediaError::Timeout`].
    pub fn cpu_seconds(mut self, seconds: u64) -> Self {
        self.cpu_seconds = Some(seconds);
        self
    }

    /// Keeps stdout in memory, at most `max_bytes` of it (more is an error).
    pub fn collect(mut self, max_bytes: usize) -> Self {
        self.stdout = Stdout::Collect { max_bytes };
        self
    }

    /// Hands each complete line of stdout to `on_line` as it arrives.
    pub fn lines(mut self, on_line: &'a mut (dyn FnMut(&str) + Send)) -> Self {
        self.stdout = Stdout::Lines(on_line);
        self
    }

    /// Feeds the child's stdin from `stream`, then closes it (EOF).
    pub fn feed(mut self, stream: ByteStream, timeout_start: TimeoutStart) -> Self {
        self.stdin = Stdin::Feed { stream, timeout_start };
        self
    }

    pub fn tool(&self) -> &'static str {
        self.tool
    }

    pub fn program(&self) -> &Path {
        self.program
    }

    /// Runs the tool to its end, or until the timeout, with the sandboxing described in the module doc.
    pub async fn run(self) -> Result<Finished, MediaError> {
        run(self).await
    }
}

/// How a run ended (it ran to its end; the exit status may still be a failure).
#[derive(Debug)]
pub(crate) struct Finished {
    pub tool: &'static str,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr_tail: String,
}

impl Finished {
    /// `Ok(self)` when the tool exited 0, else the matching [`MediaError::FfmpegFailed`].
    pub fn success(self) -> Result<Finished, MediaError> {
        if self.status.success() {
            return Ok(self);
        }
        use std::os::unix::process::ExitStatusExt;
        if self.status.signal() == Some(libc::SIGXCPU) {
            // The CPU-time limit: as final as the wall-clock one.
            tracing::warn!(tool = self.tool, "stopped by its CPU-time limit");
            return Err(MediaError::CpuLimit { tool: self.tool.to_owned() });
        }
        Err(MediaError::FfmpegFailed {
            tool: self.tool.to_owned(),
            status: self.status.to_string(),
            signal: self.status.signal(),
            stderr: self.stderr_tail,
        })
    }
}

/// How feeding stdin ended.
enum FeedEnd {
    /// The stream ended and stdin was closed: the child has seen all of its input.
    Complete,
    /// The child closed its stdin (it exited, or read all it wanted): the rest is not needed.
    ChildClosed,
    /// The stream failed, or writing failed for another reason than the child closing its end.
    /// The pipe is handed back open, to be closed only once the child is dead: closed first, it
    /// would be an EOF, and the child could finish a truncated input as if it were whole.
    Failed(MediaError, ChildStdin),
}

/// A feed in progress (boxed, so it can be held apart from the child and dropped after it).
type Feeding = Pin<Box<dyn Future<Output = FeedEnd> + Send>>;

/// How the wait for a child ended.
enum Ended {
    /// The child exited: stdout, stderr tail and status (the wait itself may have failed).
    Exited(io::Result<Vec<u8>>, String, io::Result<ExitStatus>),
    TimedOut,
    FeedFailed(MediaError, ChildStdin),
}

async fn run(inv: Invocation<'_>) -> Result<Finished, MediaError> {
    let Invocation { tool, program, args, timeout, nice, cpu_seconds, mut stdout, stdin } = inv;
    let (feed, timeout_start) = match stdin {
        Stdin::Null => (None, TimeoutStart::Spawn),
        Stdin::Feed { stream, timeout_start } => (Some(stream), timeout_start),
    };
    let mut cmd = Command::new(program);
    cmd.args(&args)
        .stdin(if feed.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(if matches!(stdout, Stdout::Null) { Stdio::null() } else { Stdio::piped() })
        .stderr(Stdio::piped())
        // Backstop only: the guard below kills the whole group and reaps explicitly.
        .kill_on_drop(true)
        .process_group(0)
        // A clean environment: ffmpeg reads variables such as FFREPORT (which writes log files).
        .env_clear()
        .env("LC_ALL", "C")
        .env("AV_LOG_FORCE_NOCOLOR", "1")
        // Fewer malloc arenas keep the address space (RLIMIT_AS) small with many threads.
        .env("MALLOC_ARENA_MAX", "2");
    // Kept: how to find the tool and its libraries (a custom ffmpeg build may need the latter).
    for var in ["PATH", "LD_LIBRARY_PATH"] {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    let fed_at_leisure = feed.is_some() && timeout_start == TimeoutStart::FeedEnd;
    let wall_budget = if fed_at_leisure { timeout.max(FED_RUN_WALL_BUDGET) } else { timeout };
    let limits = match cpu_seconds {
        Some(cpu_seconds) => ChildLimits::with_cpu_seconds(nice, cpu_seconds),
        None => ChildLimits::for_timeout(nice, wall_budget),
    };
    // SAFETY: the closure runs in the forked child before exec; it only makes async-signal-safe
    // system calls (setpriority, getrlimit, setrlimit) on values captured by copy, and allocates nothing.
    unsafe {
        cmd.pre_exec(move || limits.apply());
    }

    // Declared before the guard, so dropped after it: a dropped run kills the child before its
    // input is closed (see `FeedEnd::Failed`).
    let mut feeding: Option<Feeding> = None;
    tracing::debug!(tool, program = %program.display(), args = ?args, "spawning");
    let child = cmd.spawn().map_err(|e| spawn_error(tool, program, e))?;
    let mut guard = ChildGuard::new(child);
    let child_stdout = guard.child_mut().and_then(|c| c.stdout.take());
    let child_stderr = guard.child_mut().and_then(|c| c.stderr.take());
    if let (Some(stream), Some(pipe)) = (feed, guard.child_mut().and_then(|c| c.stdin.take())) {
        feeding = Some(Box::pin(feed_stdin(tool, stream, pipe)));
    }

    let mut deadline = (!fed_at_leisure).then(|| Instant::now() + timeout);
    let ended = {
        let work = async {
            let out = async {
                match (&mut stdout, child_stdout) {
                    (Stdout::Collect { max_bytes }, Some(pipe)) => collect(pipe, *max_bytes).await,
                    (Stdout::Lines(on_line), Some(pipe)) => lines(pipe, &mut **on_line).await.map(|()| Vec::new()),
                    _ => Ok(Vec::new()),
                }
            };
            let err = async {
                match child_stderr {
                    Some(pipe) => tail(pipe, STDERR_TAIL_BYTES).await,
                    None => String::new(),
                }
            };
            let status = async {
                match guard.child_mut() {
                    Some(child) => child.wait().await,
                    None => Err(io::Error::other("child already reaped")),
                }
            };
            tokio::join!(out, err, status)
        };
        tokio::pin!(work);
        loop {
            let at = deadline;
            let timer = async move {
                match at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let fed = async {
                match feeding.as_mut() {
                    Some(f) => f.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                // A failed feed wins over an exit seen at the same time: the input was not whole.
                biased;
                end = fed => match end {
                    FeedEnd::Complete | FeedEnd::ChildClosed => {
                        feeding = None;
                        deadline = deadline.or_else(|| Some(Instant::now() + timeout));
                    }
                    FeedEnd::Failed(e, pipe) => break Ended::FeedFailed(e, pipe),
                },
                (out, err, status) = &mut work => break Ended::Exited(out, err, status),
                () = timer => break Ended::TimedOut,
            }
        }
    };

    match ended {
        Ended::Exited(out, stderr_tail, status) => {
            // Exited before the feed ended: what is left of it is not needed (and may never come).
            drop(feeding);
            let status = match status {
                Ok(status) => {
                    guard.reaped();
                    status
                }
                Err(e) => {
                    guard.kill_and_reap().await;
                    return Err(MediaError::io(format!("waiting for {tool}"), e));
                }
            };
            let stdout = match out {
                Ok(bytes) => bytes,
                Err(e) => return Err(MediaError::io(format!("reading the output of {tool}"), e)),
            };
            tracing::debug!(tool, %status, "finished");
            Ok(Finished { tool, status, stdout, stderr_tail })
        }
        Ended::TimedOut => {
            tracing::warn!(tool, after_s = timeout.as_secs(), "timed out; killing");
            guard.kill_and_reap().await;
            Err(MediaError::Timeout { tool: tool.to_owned(), after: timeout })
        }
        Ended::FeedFailed(e, pipe) => {
            tracing::warn!(tool, error = %e, "the input failed; killing");
            guard.kill_and_reap().await;
            drop(pipe);
            Err(e)
        }
    }
}

/// Copies `stream` into the child's stdin, then closes it.
async fn feed_stdin(tool: &'static str, mut stream: ByteStream, mut pipe: ChildStdin) -> FeedEnd {
    while let Some(item) = stream.next().await {
        let chunk = match item {
            Ok(chunk) => chunk,
            Err(e) => return FeedEnd::Failed(MediaError::InputFailed { detail: e.to_string() }, pipe),
        };
        match pipe.write_all(&chunk).await {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return FeedEnd::ChildClosed,
            Err(e) => return FeedEnd::Failed(MediaError::io(format!("feeding {tool}"), e), pipe),
        }
    }
    drop(pipe);
    FeedEnd::Complete
}

fn spawn_error(tool: &str, program: &Path, e: io::Error) -> MediaError {
    match e.kind() {
        io::ErrorKind::NotFound => MediaError::ToolMissing {
            tool: tool.to_owned(),
            detail: format!("{} was not found (install ffmpeg or set its path)", program.display()),
        },
        io::ErrorKind::PermissionDenied => MediaError::ToolMissing {
            tool: tool.to_owned(),
            detail: format!("{} is not executable", program.display()),
        },
        _ => MediaError::io(format!("starting {tool} ({})", program.display()), e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> Invocation<'static> {
        niced_sh(script, 0, timeout)
    }

    fn niced_sh(script: &str, nice: i32, timeout: Duration) -> Invocation<'static> {
        Invocation::new("sh", Path::new("/bin/sh"), nice, vec!["-c".into(), script.into()], timeout)
    }

    /// `count` chunks of `size` bytes, `pause` apart; then an error instead of the end when `fail`.
    fn chunks(count: usize, size: usize, pause: Duration, fail: bool) -> ByteStream {
        let items = futures_util::stream::iter(0..count).then(move |_| async move {
            tokio::time::sleep(pause).await;
            Ok(bytes::Bytes::from(vec![b'x'; size]))
        });
        let end = futures_util::stream::iter(fail.then(|| Err(io::Error::other("the upload was abandoned"))));
        Box::pin(items.chain(end))
    }

    #[tokio::test]
    async fn runs_a_program_and_reports_status_and_stderr() {
        let out =
            niced_sh("echo out; echo err >&2; exit 3", 5, Duration::from_secs(10)).collect(1024).run().await.unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr_tail, "err");
        assert_eq!(out.success().unwrap_err().code(), "ffmpeg_failed");
    }

    #[tokio::test]
    async fn limits_apply_in_the_child() {
        let out = niced_sh("ulimit -c; ulimit -n; nice", 7, Duration::from_secs(10)).collect(4096).run().await.unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("0"), "core dumps off: {text}");
        assert_eq!(lines.next(), Some("256"), "open files limited: {text}");
        let nice: i32 = lines.next().and_then(|n| n.trim().parse().ok()).unwrap_or(-1);
        assert!(nice >= 7, "niceness set (or already higher): {text}");
    }

    #[tokio::test]
    async fn the_lowest_niceness_runs_in_the_idle_class() {
        // Field 41 of /proc/PID/stat is the scheduling policy: 0 normal, 5 SCHED_IDLE (inherited by `cut`).
        let policy = |nice| async move {
            let out = niced_sh("cut -d' ' -f41 /proc/self/stat", nice, Duration::from_secs(10));
            let out = out.collect(4096).run().await.unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        assert_eq!(policy(19).await, "5", "SCHED_IDLE at niceness 19");
        assert_eq!(policy(10).await, "0", "the normal class otherwise");
    }

    /// Runs `inv` and checks that its timeout stopped it, promptly.
    async fn times_out(inv: Invocation<'_>) {
        let started = std::time::Instant::now();
        let err = inv.run().await.unwrap_err();
        assert_eq!(err.code(), "too_slow", "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn timeout_kills_and_reports() {
        times_out(Invocation::new("sleep", Path::new("/bin/sleep"), 0, vec!["30".into()], Duration::from_millis(200)))
            .await;
    }

    #[tokio::test]
    async fn the_cpu_budget_stops_a_busy_child_for_good() {
        // One CPU second, far from the 30 s wall clock: only the CPU limit can stop it.
        let busy = sh("while :; do :; done", Duration::from_secs(30)).cpu_seconds(1);
        let started = std::time::Instant::now();
        let err = busy.run().await.unwrap().success().unwrap_err();
        assert!(matches!(err, MediaError::CpuLimit { .. }), "{err:?}");
        assert_eq!(err.code(), "too_slow");
        assert!(err.is_permanent(), "another try would burn as much again");
        assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn missing_program_is_tool_missing() {
        let err = Invocation::new("ffmpeg", Path::new("/nonexistent/ffmpeg"), 0, vec![], Duration::from_secs(1))
            .run()
            .await
            .unwrap_err();
        assert_eq!(err.code(), "tool_missing");
    }

    #[tokio::test]
    async fn a_feed_reaches_stdin_whole_and_then_eof() {
        let out = sh("wc -c", Duration::from_secs(10))
            .collect(64)
            .feed(chunks(50, 1000, Duration::ZERO, false), TimeoutStart::FeedEnd)
            .run()
            .await
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "50000");
    }

    #[tokio::test]
    async fn the_timeout_starts_when_the_feed_ends_or_at_once() {
        // 1.2 s of feed, 300 ms of timeout: fine when the clock starts after the feed...
        let slow = || chunks(12, 100, Duration::from_millis(100), false);
        let out = sh("cat >/dev/null; echo done", Duration::from_millis(300))
            .collect(64)
            .feed(slow(), TimeoutStart::FeedEnd)
            .run()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"done\n");
        // ...a timeout when it runs from the start.
        times_out(sh("cat >/dev/null; echo done", Duration::from_millis(300)).feed(slow(), TimeoutStart::Spawn)).await;
        // After the feed, the timeout still stops a child that does not finish.
        let short = chunks(2, 10, Duration::from_millis(50), false);
        times_out(sh("cat >/dev/null; sleep 30", Duration::from_millis(300)).feed(short, TimeoutStart::FeedEnd)).await;
    }

    #[tokio::test]
    async fn a_child_that_stops_reading_ends_the_run_without_waiting_for_the_feed() {
        // `head` reads 10 bytes and exits; the feed would wait forever for its next chunk.
        let endless: ByteStream = Box::pin(
            futures_util::stream::iter([Ok(bytes::Bytes::from_static(b"0123456789abcdef"))])
                .chain(futures_util::stream::pending()),
        );
        let started = std::time::Instant::now();
        let out = Invocation::new(
            "head",
            Path::new("/usr/bin/head"),
            0,
            vec!["-c".into(), "10".into()],
            Duration::from_secs(30),
        )
        .collect(64)
        .feed(endless, TimeoutStart::FeedEnd)
        .run()
        .await
        .unwrap();
        assert_eq!(out.stdout, b"0123456789");
        assert!(started.elapsed() < Duration::from_secs(5));
        // A child that exits while being written to: the broken pipe is not an error.
        let out = sh("head -c 10 >/dev/null", Duration::from_secs(30))
            .feed(chunks(1000, 64 * 1024, Duration::ZERO, false), TimeoutStart::FeedEnd)
            .run()
            .await
            .unwrap();
        assert!(out.status.success());
    }

    #[tokio::test]
    async fn a_failed_feed_kills_the_child_even_one_that_would_succeed() {
        // The child would see EOF and exit 0: the truncated input must not look like a whole one.
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("finished");
        let script = format!("cat >/dev/null; touch '{}'", marker.display());
        let started = std::time::Instant::now();
        let err = sh(&script, Duration::from_secs(30))
            .feed(chunks(3, 100, Duration::from_millis(20), true), TimeoutStart::FeedEnd)
            .run()
            .await
            .unwrap_err();
        assert_eq!(err.code(), "input_failed", "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!marker.exists(), "the child went on as if its input were complete");
    }
}
