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

/// The revision `n` of [`write_project`]'s chain: a table and an index.
#[allow(dead_code)] // not every benchmark builds a project
pub fn revision_body(n: usize) -> String {
    format!(
        "CREATE TABLE t{n} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created TEXT);\nCREATE INDEX t{n}_name ON t{n} (name);\n"
    )
}

/// A project of `revisions` revisions in a chain, each creating a table
/// and an index (so the database ends with twice as many schema objects).
#[allow(dead_code)] // not every benchmark builds a project
pub fn write_project(dir: &Path, revisions: usize) {
    std::fs::write(dir.join("strata.toml"), "database = \"app.db\"\n").unwrap();
    let migrations = dir.join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    let id = |n: usize| format!("2026{n:010}");
    for n in 0..revisions {
        let parent = if n == 0 {
            "base".to_string()
        } else {
            id(n - 1)
        };
        let stem = format!("{}_table_{n}", id(n));
        std::fs::write(
            migrations.join(format!("{stem}.up.sql")),
            format!(
                "-- strata:revision {}\n-- strata:parent   {parent}\n-- strata:message  table {n}\n-- strata:created  2026-11-26T00:00:00Z\n\n{}",
                id(n),
                revision_body(n)
            ),
        )
        .unwrap();
        std::fs::write(
            migrations.join(format!("{stem}.down.sql")),
            format!(
                "-- strata:revision {}\n\nDROP INDEX t{n}_name;\nDROP TABLE t{n};\n",
                id(n)
            ),
        )
        .unwrap();
    }
}
