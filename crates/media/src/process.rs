//! The one way this crate runs ffmpeg and ffprobe.
//!
//! No shell; stdin is null; stdout is collected (bounded) or streamed line by line; stderr is read
//! concurrently into a bounded ring so the pipe never fills and the error message has the tail of
//! the log. The child gets its own process group, lower priority and resource limits (set in the
//! child between fork and exec). On timeout, on error and when the future is dropped, the whole
//! group is SIGKILLed and the child reaped, so no ffmpeg outlives the job that started it.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::error::MediaError;

/// How much of stderr is kept for error messages.
const STDERR_TAIL_BYTES: usize = 8 * 1024;
/// Address space of a child: generous for 4K decode + x264, small enough to stop a runaway.
const LIMIT_AS_BYTES: u64 = 4 << 30;
/// Largest file a child may write (segments and thumbnails are far smaller).
const LIMIT_FSIZE_BYTES: u64 = 4 << 30;
/// Open files of a child: ffmpeg needs a handful.
const LIMIT_NOFILE: u64 = 256;

/// What to do with the child's stdout.
pub(crate) enum Stdout<'a> {
    /// Not needed: connected to /dev/null.
    Null,
    /// Kept in memory; more than `max_bytes` is an error (hostile input can make ffprobe verbose).
    Collect { max_bytes: usize },
    /// Each complete line is handed to the callback as it arrives (ffmpeg `-progress pipe:1`).
    Lines(&'a mut (dyn FnMut(&str) + Send)),
}

/// One run of a tool.
pub(crate) struct Invocation<'a> {
    /// Short name for messages and logs ("ffmpeg", "ffprobe").
    pub tool: &'static str,
    pub program: &'a Path,
    pub args: Vec<OsString>,
    pub timeout: Duration,
    /// Niceness of the child (0..=19); lowering below the parent's is silently skipped.
    pub nice: i32,
    pub stdout: Stdout<'a>,
}

/// How a run ended (it ran to its end; the exit status may still be a failure).
#[derive(Debug)]
pub(crate) struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr_tail: String,
}

impl Finished {
    /// `Ok(self)` when the tool exited 0, else the matching [`MediaError::FfmpegFailed`].
    pub fn success(self, tool: &str) -> Result<Finished, MediaError> {
        if self.status.success() {
            return Ok(self);
        }
        use std::os::unix::process::ExitStatusExt;
        Err(MediaError::FfmpegFailed {
            tool: tool.to_owned(),
            status: self.status.to_string(),
            signal: self.status.signal(),
            stderr: self.stderr_tail,
        })
    }
}

/// Runs a tool to its end or until the timeout, with the sandboxing described in the module doc.
pub(crate) async fn run(inv: Invocation<'_>) -> Result<Finished, MediaError> {
    let Invocation { tool, program, args, timeout, nice, mut stdout } = inv;
    let mut cmd = Command::new(program);
    cmd.args(&args)
        .stdin(Stdio::null())
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
    let limits = ChildLimits::for_timeout(nice, timeout);
    // SAFETY: the closure runs in the forked child before exec; it only makes async-signal-safe
    // system calls (setpriority, getrlimit, setrlimit) on values captured by copy, and allocates nothing.
    unsafe {
        cmd.pre_exec(move || limits.apply());
    }

    tracing::debug!(tool, program = %program.display(), args = ?args, "spawning");
    let child = cmd.spawn().map_err(|e| spawn_error(tool, program, e))?;
    let mut guard = ChildGuard::new(child);
    let child_stdout = guard.child_mut().and_then(|c| c.stdout.take());
    let child_stderr = guard.child_mut().and_then(|c| c.stderr.take());

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

    match tokio::time::timeout(timeout, work).await {
        Ok((out, stderr_tail, status)) => {
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
            Ok(Finished { status, stdout, stderr_tail })
        }
        Err(_elapsed) => {
            tracing::warn!(tool, after_s = timeout.as_secs(), "timed out; killing");
            guard.kill_and_reap().await;
            Err(MediaError::Timeout { tool: tool.to_owned(), after: timeout })
        }
    }
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

/// Reads everything, but keeps at most `max` bytes; more is an error once the pipe is drained
/// (draining keeps the child from blocking on a full pipe).
async fn collect(pipe: impl AsyncRead + Unpin, max: usize) -> io::Result<Vec<u8>> {
    let mut reader = BufReader::new(pipe);
    let mut kept = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut overflow = false;
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        if kept.len() + n > max {
            overflow = true;
        } else {
            kept.extend_from_slice(&buf[..n]);
        }
    }
    if overflow {
        return Err(io::Error::other(format!("output larger than {max} bytes")));
    }
    Ok(kept)
}

/// Hands each complete line to `on_line`; overlong lines are cut (progress lines are short).
async fn lines(pipe: impl AsyncRead + Unpin, on_line: &mut (dyn FnMut(&str) + Send)) -> io::Result<()> {
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader).take(4096).read_until(b'\n', &mut line).await?;
        if n == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            let text = String::from_utf8_lossy(&line);
            on_line(text.trim_end());
        }
    }
}

/// Reads a pipe to its end keeping only the last `max` bytes, returned as text from a line start.
async fn tail(pipe: impl AsyncRead + Unpin, max: usize) -> String {
    let mut reader = pipe;
    let mut ring: VecDeque<u8> = VecDeque::with_capacity(max);
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let chunk = &buf[..n];
                let chunk = if chunk.len() > max { &chunk[chunk.len() - max..] } else { chunk };
                let excess = (ring.len() + chunk.len()).saturating_sub(max);
                ring.drain(..excess);
                ring.extend(chunk);
            }
        }
    }
    let bytes: Vec<u8> = ring.into_iter().collect();
    let full = bytes.len() < max;
    let text = String::from_utf8_lossy(&bytes);
    let text = if full {
        &text[..]
    } else {
        // The ring cut the first line somewhere in the middle: drop that partial line.
        text.split_once('\n').map_or(&text[..], |(_, rest)| rest)
    };
    text.trim().to_owned()
}

/// Limits applied in the child before exec.
#[derive(Clone, Copy)]
struct ChildLimits {
    nice: i32,
    cpu_seconds: u64,
    /// The server's pid, to detect dying before the death signal was armed.
    parent_pid: libc::pid_t,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
type Resource = libc::__rlimit_resource_t;
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
type Resource = libc::c_int;

impl ChildLimits {
    fn for_timeout(nice: i32, timeout: Duration) -> Self {
        // CPU time accrues on every core at once, so the budget is wall time times the cores, plus slack;
        // it only catches a child that somehow escaped the wall-clock timeout.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        let cpu_seconds = timeout.as_secs().saturating_add(1).saturating_mul(cores).saturating_add(10);
        ChildLimits { nice: nice.clamp(0, 19), cpu_seconds, parent_pid: std::process::id() as libc::pid_t }
    }

    /// Runs in the child between fork and exec: async-signal-safe calls only.
    fn apply(self) -> io::Result<()> {
        // The child dies with the server, even when the server is SIGKILLed and cannot clean up:
        // an orphan ffmpeg would keep writing into a work folder a restarted server reuses.
        // SAFETY: plain system calls on this process.
        unsafe {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect: then we are already an orphan.
            if libc::getppid() != self.parent_pid {
                return Err(io::Error::other("parent exited before the child started"));
            }
        }
        // Best effort: an unprivileged process cannot lower its niceness below the parent's.
        // SAFETY: plain system call on this process.
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS as _, 0, self.nice);
        }
        set_limit(libc::RLIMIT_CORE, 0, 0)?;
        set_limit(libc::RLIMIT_AS, LIMIT_AS_BYTES, LIMIT_AS_BYTES)?;
        set_limit(libc::RLIMIT_FSIZE, LIMIT_FSIZE_BYTES, LIMIT_FSIZE_BYTES)?;
        set_limit(libc::RLIMIT_NOFILE, LIMIT_NOFILE, LIMIT_NOFILE)?;
        // Soft limit sends SIGXCPU, the hard one SIGKILL a little later.
        set_limit(libc::RLIMIT_CPU, self.cpu_seconds, self.cpu_seconds.saturating_add(5))?;
        Ok(())
    }
}

/// Lowers a limit to (soft, hard), never above the current hard limit (raising it needs privileges).
fn set_limit(resource: Resource, soft: u64, hard: u64) -> io::Result<()> {
    let mut current = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid pointer to a local rlimit.
    if unsafe { libc::getrlimit(resource, &mut current) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let max: u64 = current.rlim_max;
    let hard = hard.min(max);
    let new = libc::rlimit { rlim_cur: soft.min(hard) as libc::rlim_t, rlim_max: hard as libc::rlim_t };
    // SAFETY: valid pointer to a local rlimit.
    if unsafe { libc::setrlimit(resource, &new) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Owns a running child: until it is reaped, dropping the guard SIGKILLs the child's process group
/// and reaps the child in the background.
struct ChildGuard {
    child: Option<Child>,
    /// The child's pid, which is also its process group id; `None` once reaped (the id may then be
    /// reused, so it must not be signalled any more).
    pgid: Option<i32>,
}

impl ChildGuard {
    fn new(child: Child) -> Self {
        let pgid = child.id().and_then(|id| i32::try_from(id).ok()).filter(|&id| id > 0);
        ChildGuard { child: Some(child), pgid }
    }

    fn child_mut(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    /// The child has been waited for: nothing left to kill.
    fn reaped(&mut self) {
        self.pgid = None;
        self.child = None;
    }

    fn kill_group(&self) {
        if let Some(pgid) = self.pgid {
            // SAFETY: signals the child's own process group; the child is not reaped yet, so the id is still ours.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }

    async fn kill_and_reap(&mut self) {
        self.kill_group();
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
            if let Err(e) = child.wait().await {
                tracing::warn!(error = %e, "could not reap a killed child");
            }
        }
        self.reaped();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        self.kill_group();
        let _ = child.start_kill();
        tracing::debug!(pid = ?self.pgid, "child dropped while running: killed");
        // Reap it so it does not linger as a zombie; without a runtime, kill_on_drop and tokio's
        // orphan reaping take over.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = child.wait().await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tail_keeps_only_the_end_from_a_line_start() {
        let mut input = Vec::new();
        for i in 0..2000 {
            input.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        let t = tail(&input[..], 64).await;
        assert!(t.ends_with("line 1999"), "{t}");
        assert!(t.starts_with("line "), "{t}");
        assert!(t.len() <= 64);
    }

    #[tokio::test]
    async fn collect_refuses_too_much() {
        let input = vec![b'x'; 100_000];
        assert!(collect(&input[..], 1000).await.is_err());
        assert_eq!(collect(&input[..], 200_000).await.unwrap().len(), 100_000);
    }

    #[tokio::test]
    async fn runs_a_program_and_reports_status_and_stderr() {
        let out = run(Invocation {
            tool: "sh",
            program: Path::new("/bin/sh"),
            args: vec!["-c".into(), "echo out; echo err >&2; exit 3".into()],
            timeout: Duration::from_secs(10),
            nice: 5,
            stdout: Stdout::Collect { max_bytes: 1024 },
        })
        .await
        .unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr_tail, "err");
        assert_eq!(out.success("sh").unwrap_err().code(), "ffmpeg_failed");
    }

    #[tokio::test]
    async fn limits_apply_in_the_child() {
        let out = run(Invocation {
            tool: "sh",
            program: Path::new("/bin/sh"),
            args: vec!["-c".into(), "ulimit -c; ulimit -n; nice".into()],
            timeout: Duration::from_secs(10),
            nice: 7,
            stdout: Stdout::Collect { max_bytes: 4096 },
        })
        .await
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("0"), "core dumps off: {text}");
        assert_eq!(lines.next(), Some("256"), "open files limited: {text}");
        let nice: i32 = lines.next().and_then(|n| n.trim().parse().ok()).unwrap_or(-1);
        assert!(nice >= 7, "niceness set (or already higher): {text}");
    }

    #[tokio::test]
    async fn timeout_kills_and_reports() {
        let started = std::time::Instant::now();
        let err = run(Invocation {
            tool: "sleep",
            program: Path::new("/bin/sleep"),
            args: vec!["30".into()],
            timeout: Duration::from_millis(200),
            nice: 0,
            stdout: Stdout::Null,
        })
        .await
        .unwrap_err();
        assert_eq!(err.code(), "timeout");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn missing_program_is_tool_missing() {
        let err = run(Invocation {
            tool: "ffmpeg",
            program: Path::new("/nonexistent/ffmpeg"),
            args: vec![],
            timeout: Duration::from_secs(1),
            nice: 0,
            stdout: Stdout::Null,
        })
        .await
        .unwrap_err();
        assert_eq!(err.code(), "tool_missing");
    }
}
