//! `cargo bench --bench lifecycle`: strata's everyday commands on a project
//! of 1,000 revisions, through the release binary, against the Flask-Migrate
//! / Alembic figures of DESIGN §6. Wall time is the median of several runs;
//! peak RSS comes from `wait4` on the child process.
//!
//! `STRATA_BENCH_REVISIONS` changes the project size.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One run of the binary: wall time and peak resident set size.
struct Sample {
    wall: Duration,
    max_rss_kib: i64,
}

// The child is reaped by `wait4` below, which `Child::wait` cannot do while
// also returning the child's resource usage.
#[allow(clippy::zombie_processes)]
fn run(dir: &Path, args: &[&str]) -> Sample {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_strata"))
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
        "strata {args:?} failed"
    );
    Sample {
        wall,
        max_rss_kib: usage.ru_maxrss,
    }
}

fn median(dir: &Path, args: &[&str], times: usize) -> Sample {
    let mut samples: Vec<Sample> = (0..times).map(|_| run(dir, args)).collect();
    samples.sort_by_key(|s| s.wall);
    let rss = samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0);
    let mid = samples.swap_remove(times / 2);
    Sample {
        wall: mid.wall,
        max_rss_kib: rss,
    }
}

fn write_project(dir: &Path, revisions: usize) {
    std::fs::write(dir.join("strata.toml"), "database = \"app.db\"\n").unwrap();
    let migrations = dir.join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    let id = |n: usize| format!("2026{:010}", n);
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
                "-- strata:revision {}\n-- strata:parent   {parent}\n-- strata:message  table {n}\n-- strata:created  2026-11-26T00:00:00Z\n\n\
                 CREATE TABLE t{n} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created TEXT);\n\
                 CREATE INDEX t{n}_name ON t{n} (name);\n",
                id(n)
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not: keep
    // the test build quick.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let revisions: usize = std::env::var("STRATA_BENCH_REVISIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_project(dir, revisions);

    let upgrade = run(dir, &["upgrade", "-q"]);
    let current = median(dir, &["current"], 21);
    let history = median(dir, &["history"], 21);
    run(dir, &["downgrade", "base", "-q"]);
    let single = run(dir, &["upgrade", "-q", "--single-transaction"]);

    println!("strata lifecycle benchmark: {revisions} revisions, release build");
    println!(
        "{:<38} {:>10} {:>12} {:>14} {:>8}",
        "command", "wall ms", "peak RSS MB", "Alembic ms", "ratio"
    );
    let row = |name: &str, s: &Sample, alembic_ms: f64| {
        println!(
            "{:<38} {:>10.1} {:>12.1} {:>14.0} {:>7.1}x",
            name,
            ms(s.wall),
            s.max_rss_kib as f64 / 1024.0,
            alembic_ms,
            alembic_ms / ms(s.wall)
        );
    };
    row("current", &current, 418.0);
    row("history", &history, 614.0);
    row("upgrade base->head", &upgrade, 4000.0);
    row("upgrade base->head --single-transaction", &single, 4000.0);
    println!("(Alembic figures: DESIGN §6, Flask-Migrate 4.1 / Alembic 1.20 on 1,000 revisions)");
}
