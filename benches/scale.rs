//! `cargo bench --bench scale`: how each command's cost grows with the
//! project, at 100, 1,000 and 10,000 revisions (or tables), each beside a
//! floor run the same way: the work done by the `sqlite3` shell, reading
//! the files with `cat`, or process start-up. Time is the median of
//! alternating runs; peak RSS is the largest seen (from `wait4`).
//!
//! `STRATA_BENCH_SCALE=100,1000` picks the sizes (10,000 takes a few
//! minutes: SQLite's own DDL cost grows with the square of the schema).
//! Needs the `sqlite3` shell for the floors.

use std::path::Path;
use std::time::Duration;

mod common;

use common::{revision_body, run, run_program, write_project, Sample};

/// `n` revisions (common::write_project), plus what the floors run: the
/// up scripts in one transaction, and the same schema as schema.sql.
fn write_fixtures(dir: &Path, n: usize) {
    write_project(dir, n);
    let schema: String = (0..n).map(revision_body).collect();
    std::fs::write(
        dir.join("all_ups.sql"),
        format!("BEGIN;\n{schema}COMMIT;\n"),
    )
    .unwrap();
    std::fs::write(dir.join("schema.sql"), &schema).unwrap();
    std::fs::write(
        dir.join("schema_tx.sql"),
        format!("BEGIN;\n{schema}COMMIT;\n"),
    )
    .unwrap();
}

/// Medians of `times` alternating runs of strata and its floor, each
/// after `before` (untimed) has run.
fn pair(
    dir: &Path,
    times: usize,
    before: &dyn Fn(),
    strata: &[&str],
    floor: (&str, &[&str]),
) -> (Sample, Sample) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..times {
        before();
        a.push(run(dir, strata));
        before();
        b.push(run_program(floor.0, dir, floor.1));
    }
    (median(a), median(b))
}

fn median(mut samples: Vec<Sample>) -> Sample {
    let rss = samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0);
    samples.sort_by_key(|s| s.wall);
    let mid = samples.swap_remove(samples.len() / 2);
    Sample {
        wall: mid.wall,
        max_rss_kib: rss,
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn row(command: &str, n: usize, strata: &Sample, floor_name: &str, floor: &Sample) {
    println!(
        "| `{command}` | {n} | {} | {:.1} MB | {floor_name} | {} | {:.2}× |",
        ms(strata.wall),
        strata.max_rss_kib as f64 / 1024.0,
        ms(floor.wall),
        strata.wall.as_secs_f64() / floor.wall.as_secs_f64()
    );
}

fn main() {
    if std::process::Command::new("sqlite3")
        .arg("-version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: the scale benchmark needs the sqlite3 shell for its floors");
        return;
    }
    let sizes: Vec<usize> = std::env::var("STRATA_BENCH_SCALE")
        .unwrap_or_else(|_| "100,1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!("| command | n | strata | peak RSS | floor | floor time | ratio |");
    println!("|---|---|---|---|---|---|---|");
    for n in sizes {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        write_fixtures(dir, n);
        let times = if n >= 10_000 {
            1
        } else if n >= 1000 {
            5
        } else {
            11
        };
        let fresh = || {
            let _ = std::fs::remove_file(dir.join("app.db"));
            let _ = std::fs::remove_file(dir.join("floor.db"));
        };
        let (s, f) = pair(
            dir,
            times,
            &fresh,
            &["upgrade", "--single-transaction", "-q"],
            ("sh", &["-c", "sqlite3 floor.db < all_ups.sql"]),
        );
        row(
            "upgrade --single-transaction",
            n,
            &s,
            "sqlite3 shell, the same scripts in one transaction",
            &f,
        );
        fresh();
        run(dir, &["upgrade", "--single-transaction", "-q"]);
        let reads = if n >= 10_000 { 5 } else { 11 };
        let nothing = || {};
        let (s, f) = pair(
            dir,
            reads,
            &nothing,
            &["current"],
            (
                "sqlite3",
                &["app.db", "SELECT count(*) FROM strata_history"],
            ),
        );
        row("current", n, &s, "sqlite3 shell reading strata_history", &f);
        let (s, f) = pair(
            dir,
            reads,
            &nothing,
            &["heads"],
            ("sh", &["-c", "cat migrations/*.up.sql > /dev/null"]),
        );
        row("heads", n, &s, "`cat` of the up scripts", &f);
        let (s, f) = pair(
            dir,
            reads,
            &nothing,
            &["history"],
            ("sh", &["-c", "cat migrations/*.sql > /dev/null"]),
        );
        row("history", n, &s, "`cat` of every script", &f);
        let (s, f) = pair(dir, reads, &nothing, &["--version"], ("true", &[]));
        row("--version", n, &s, "`true`", &f);

        // migrate: the whole schema.sql as a first revision, against an
        // empty database, written and removed each run.
        let tmp2 = tempfile::tempdir().unwrap();
        let dir2 = tmp2.path();
        std::fs::write(dir2.join("strata.toml"), "database = \"app.db\"\n").unwrap();
        std::fs::create_dir(dir2.join("migrations")).unwrap();
        std::fs::copy(dir.join("schema.sql"), dir2.join("schema.sql")).unwrap();
        std::fs::copy(dir.join("schema_tx.sql"), dir2.join("schema_tx.sql")).unwrap();
        let clear = || {
            for entry in std::fs::read_dir(dir2.join("migrations")).unwrap() {
                let _ = std::fs::remove_file(entry.unwrap().path());
            }
        };
        let (s, f) = pair(
            dir2,
            times,
            &clear,
            &["migrate", "-m", "all", "--rev-id", "1", "-q"],
            ("sh", &["-c", "sqlite3 :memory: < schema_tx.sql"]),
        );
        row(
            "migrate (n tables, empty database)",
            n,
            &s,
            "sqlite3 shell creating schema.sql in memory, one transaction",
            &f,
        );
    }
}
