//! The child itself: the limits it runs under (set between fork and exec) and the guard that kills
//! its whole process group and reaps it on every path out of a run.

use std::io;
use std::time::Duration;

use tokio::process::Child;

/// Address space of a child: generous for 4K decode + x264, small enough to stop a runaway.
const LIMIT_AS_BYTES: u64 = 4 << 30;
/// Largest file a child may write (segments and thumbnails are far smaller).
const LIMIT_FSIZE_BYTES: u64 = 4 << 30;
/// Open files of a child: ffmpeg needs a handful.
const LIMIT_NOFILE: u64 = 256;

/// A child asked to run at this niceness (the ladder's) runs in the idle scheduling class.
const IDLE_NICE: i32 = 19;

/// Limits applied in the child before exec.
#[derive(Clone, Copy)]
pub(super) struct ChildLimits {
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
    pub(super) fn for_timeout(nice: i32, timeout: Duration) -> Self {
        // CPU time accrues on every core at once, so the budget is wall time times the cores, plus slack;
        // it only catches a child that somehow escaped the wall-clock timeout.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        let cpu_seconds = timeout.as_secs().saturating_add(1).saturating_mul(cores).saturating_add(10);
        Self::with_cpu_seconds(nice, cpu_seconds)
    }

    /// The limits of a child allowed `cpu_seconds` of CPU time.
    pub(super) fn with_cpu_seconds(nice: i32, cpu_seconds: u64) -> Self {
        ChildLimits {
            nice: nice.clamp(0, 19),
            cpu_seconds: cpu_seconds.max(1),
            parent_pid: std::process::id() as libc::pid_t,
        }
    }

    /// Runs in the child between fork and exec: async-signal-safe calls only.
    pub(super) fn apply(self) -> io::Result<()> {
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
        // The lowest niceness also means the idle scheduling class: the child runs on what every other task leaves
        // (a niceness of 19 still takes a tenth of a core beside a niceness of 10; SCHED_IDLE a fortieth).
        if self.nice >= IDLE_NICE {
            let param = libc::sched_param { sched_priority: 0 };
            // SAFETY: plain system call on this process with a valid pointer to a local.
            unsafe {
                libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
            }
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
pub(super) struct ChildGuard {
    child: Option<Child>,
    /// The child's pid, which is also its process group id; `None` once reaped (the id may then be
    /// reused, so it must not be signalled any more).
    pgid: Option<i32>,
}

impl ChildGuard {
    pub(super) fn new(child: Child) -> Self {
        let pgid = child.id().and_then(|id| i32::try_from(id).ok()).filter(|&id| id > 0);
        ChildGuard { child: Some(child), pgid }
    }

    pub(super) fn child_mut(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    /// The child has been waited for: nothing left to kill.
    pub(super) fn reaped(&mut self) {
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

    pub(super) async fn kill_and_reap(&mut self) {
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
