//! Numbers from numbers and from the kernel: medians, percentiles, a
//! process's CPU time and resident memory from `/proc`, and the open-files limit.
//!
//! Everything here is measured, not estimated: CPU time is what the kernel
//! charged the process (`utime + stime` in `/proc/<pid>/stat`), memory is what it
//! holds in RAM (`VmRSS` in `/proc/<pid>/status`).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Why a `/proc` figure could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    /// The file is not there (process gone, or not Linux).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file did not have the expected shape.
    #[error("unexpected format in {0}")]
    Format(String),
}

/// Nanoseconds since the first call in this process: the clock that publish
/// timestamps and receive times share (monotonic, so latency is never negative
/// because of a wall-clock step).
pub fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The median of `values` (mean of the two middle ones for an even count);
/// `None` when empty. NaNs sort last.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The `p`-th percentile (0–100) of sorted `values`, nearest-rank method:
/// the smallest value such that at least p% of the values are at or below it.
pub fn percentile_sorted(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    // The epsilon keeps 99.9 % of 1000 at rank 999 despite binary floating point.
    let rank = ((p / 100.0) * sorted.len() as f64 - 1e-9).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// p50, p99 and p99.9 of a sample, in the sample's unit.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Percentiles {
    /// Samples behind the figures.
    pub count: usize,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest sample.
    pub max: u64,
}

impl Percentiles {
    /// Sorts `samples` in place and reads the percentiles; `None` when empty.
    pub fn of(samples: &mut [u64]) -> Option<Percentiles> {
        samples.sort_unstable();
        Some(Percentiles {
            count: samples.len(),
            p50: percentile_sorted(samples, 50.0)?,
            p99: percentile_sorted(samples, 99.0)?,
            p999: percentile_sorted(samples, 99.9)?,
            max: *samples.last()?,
        })
    }
}

fn read(path: &str) -> Result<String, ProcError> {
    std::fs::read_to_string(path).map_err(|source| ProcError::Read {
        path: path.to_string(),
        source,
    })
}

/// Kernel clock ticks per second (the unit of `utime`/`stime`), usually 100.
pub fn clock_ticks_per_sec() -> u64 {
    // SAFETY: sysconf has no preconditions; it returns -1 on error.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// CPU time the kernel charged process `pid` so far (all threads, user +
/// system), from `/proc/<pid>/stat`. Resolution: one clock tick (10 ms).
pub fn cpu_time(pid: u32) -> Result<Duration, ProcError> {
    let path = format!("/proc/{pid}/stat");
    let text = read(&path)?;
    // The command name (field 2) is in parentheses and may contain spaces:
    // count fields after the last ')'.
    let after = text
        .rfind(')')
        .map(|i| &text[i + 1..])
        .ok_or_else(|| ProcError::Format(path.clone()))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let tick = |i: usize| -> Result<u64, ProcError> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| ProcError::Format(path.clone()))
    };
    let ticks = tick(11)? + tick(12)?;
    Ok(Duration::from_secs_f64(
        ticks as f64 / clock_ticks_per_sec() as f64,
    ))
}

fn status_kb(pid: &str, field: &str) -> Result<u64, ProcError> {
    let path = format!("/proc/{pid}/status");
    let text = read(&path)?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or(ProcError::Format(path))
}

/// Resident memory of process `pid` in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> Result<u64, ProcError> {
    status_kb(&pid.to_string(), "VmRSS:")
}

/// Resident memory of this process in KiB.
pub fn self_rss_kib() -> Result<u64, ProcError> {
    status_kb("self", "VmRSS:")
}

/// CPU time of this process so far.
pub fn self_cpu_time() -> Result<Duration, ProcError> {
    cpu_time(std::process::id())
}

/// Raises this process's soft open-files limit to `want` (or to the hard limit
/// when that is lower). Children inherit it, so the bridge started afterwards
/// can hold as many sockets as the clients open. Returns the soft limit now.
/// The servers' own function, so the bench and the binaries agree.
pub fn raise_nofile(want: u64) -> std::io::Result<u64> {
    orchestrator_serve::fdlimit::raise_open_files(want).map(|l| l.soft)
}

/// CPU time the calling thread has used so far (`CLOCK_THREAD_CPUTIME_ID`):
/// what a piece of single-threaded work cost, without the time the thread
/// spent preempted by other processes on a shared box.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// The machine, for the report: cores, CPU model, kernel.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    /// Cores available to this process.
    pub cores: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu: String,
    /// `/proc/sys/kernel/osrelease`.
    pub kernel: String,
    /// Total RAM in MiB (`MemTotal`).
    pub mem_mib: u64,
    /// `/proc/loadavg` when the run started: other work on the box.
    pub loadavg: String,
}

impl Machine {
    /// Reads what it can; unknown parts say so.
    pub fn detect() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|r| r.trim_start_matches([' ', '\t', ':']).trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let mem_mib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|r| r.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map(|kb| kb / 1024)
            .unwrap_or(0);
        let loadavg = std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "unknown".into());
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            kernel,
            mem_mib,
            loadavg,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        let mut s: Vec<u64> = (1..=1000).collect();
        let p = Percentiles::of(&mut s).expect("non-empty");
        assert_eq!((p.p50, p.p99, p.p999, p.max), (500, 990, 999, 1000));
        assert!(Percentiles::of(&mut []).is_none());
    }

    #[test]
    fn reads_this_process_from_proc() {
        assert!(self_rss_kib().expect("VmRSS") > 0);
        let before = self_cpu_time().expect("stat");
        let mut x = 0u64;
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(60) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(self_cpu_time().expect("stat") >= before);
        assert!(raise_nofile(1024).expect("rlimit") >= 1);
    }
}
