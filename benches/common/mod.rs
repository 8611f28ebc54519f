//! What the benchmarks share: one run of the release binary, timed, with
//! its peak resident set size from `wait4`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One run of the binary: wall time and peak resident set size.
pub struct Sample {
    pub wall: Duration,
    pub max_rss_kib: i64,
}

// The child is reaped by `wait4` below, which `Child::wait` cannot do while
// also returning the child's resource usage.
#[allow(clippy::zombie_processes)]
pub fn run(dir: &Path, args: &[&str]) -> Sample {
    run_program(env!("CARGO_BIN_EXE_strata"), dir, args)
}

/// [`run`] for any program: a floor run side by side with strata.
#[allow(clippy::zombie_processes)]
pub fn run_program(program: &str, dir: &Path, args: &[&str]) -> Sample {
    let started = Instant::now();
    let child = Command::new(program)
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn strata");
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(rc, pid, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{program} {args:?} failed"
    );
    Sample {
        wall,
        max_rss_kib: usage.ru_maxrss,
    }
}
