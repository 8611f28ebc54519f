//! `cargo bench --bench lifecycle`: strata's everyday commands on a project
//! of 1,000 revisions, through the release binary, against the Flask-Migrate
//! / Alembic figures of docs/design.md §7. Wall time is the median of several runs;
//! peak RSS comes from `wait4` on the child process.
//!
//! Then autogenerate: `migrate` against a 1,000-table declared schema, and a
//! table rebuild of 1,000,000 rows with 3 indexes, through `upgrade` and
//! through the same script piped into the `sqlite3` shell (when installed).
//!
//! `STRATA_BENCH_REVISIONS`, `STRATA_BENCH_TABLES` and `STRATA_BENCH_ROWS`
//! change the sizes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{run, write_project, Sample};

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

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A declared schema of `tables` tables, each with an index; `changed`
/// of them get a new column and a type change.
fn wide_schema(tables: usize, changed: usize) -> String {
    let mut out = String::new();
    for n in 0..tables {
        if n < changed {
            out.push_str(&format!(
                "CREATE TABLE t{n} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created REAL, note TEXT);\n"
            ));
        } else {
            out.push_str(&format!(
                "CREATE TABLE t{n} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created TEXT);\n"
            ));
        }
        out.push_str(&format!("CREATE INDEX t{n}_name ON t{n} (name);\n"));
    }
    out
}

/// `migrate` timings: (first revision from an empty database, a revision
/// changing 10 tables of a database at head).
fn bench_migrate(tables: usize) -> (Sample, Sample) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("strata.toml"), "database = \"app.db\"\n").unwrap();
    std::fs::create_dir(dir.join("migrations")).unwrap();
    std::fs::write(dir.join("schema.sql"), wide_schema(tables, 0)).unwrap();
    let remove = |id: &str| {
        for entry in std::fs::read_dir(dir.join("migrations")).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap().to_string_lossy().starts_with(id) {
                std::fs::remove_file(path).unwrap();
            }
        }
    };
    let mut initial: Vec<Sample> = (0..5)
        .map(|_| {
            let s = run(dir, &["migrate", "-m", "all", "--rev-id", "1", "-q"]);
            remove("1_");
            s
        })
        .collect();
    run(dir, &["migrate", "-m", "all", "--rev-id", "1", "-q"]);
    run(dir, &["upgrade", "-q"]);
    std::fs::write(dir.join("schema.sql"), wide_schema(tables, 10)).unwrap();
    let mut change: Vec<Sample> = (0..5)
        .map(|_| {
            let s = run(dir, &["migrate", "-m", "ten", "--rev-id", "2", "-q"]);
            remove("2_");
            s
        })
        .collect();
    initial.sort_by_key(|s| s.wall);
    change.sort_by_key(|s| s.wall);
    (initial.swap_remove(2), change.swap_remove(2))
}

/// A 3-index table of `rows` rows whose column type changes: strata's
/// `upgrade` against the same script in the `sqlite3` shell.
fn bench_rebuild(rows: usize) -> (Sample, Option<Duration>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("strata.toml"), "database = \"app.db\"\n").unwrap();
    std::fs::create_dir(dir.join("migrations")).unwrap();
    let table = |ty: &str| {
        format!(
            "CREATE TABLE big (id INTEGER PRIMARY KEY, a TEXT, b INTEGER, c {ty});\n\
             CREATE INDEX big_a ON big (a);\nCREATE INDEX big_b ON big (b);\nCREATE INDEX big_c ON big (c);\n"
        )
    };
    std::fs::write(dir.join("schema.sql"), table("TEXT")).unwrap();
    run(dir, &["migrate", "-m", "big", "--rev-id", "1", "-q"]);
    run(dir, &["upgrade", "-q"]);
    let conn = rusqlite::Connection::open(dir.join("app.db")).unwrap();
    conn.execute_batch(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
         INSERT INTO big SELECT i, hex(randomblob(8)), i % 1000, i * 3 FROM n;"
    ))
    .unwrap();
    drop(conn);
    std::fs::write(dir.join("schema.sql"), table("INTEGER")).unwrap();
    run(dir, &["migrate", "-m", "c integer", "--rev-id", "2", "-q"]);
    std::fs::copy(dir.join("app.db"), dir.join("shell.db")).unwrap();
    let upgrade = run(dir, &["upgrade", "-q"]);
    // The same statements, in one transaction, typed into the shell.
    let script = std::fs::read_dir(dir.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("c_integer.up.sql"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .unwrap();
    let input = format!("PRAGMA foreign_keys = OFF;\nBEGIN;\n{script}\nCOMMIT;\n");
    let started = Instant::now();
    let shell = Command::new("sqlite3")
        .arg(dir.join("shell.db"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take()?.write_all(input.as_bytes()).ok()?;
            child.wait().ok().filter(|s| s.success())
        })
        .map(|_| started.elapsed());
    (upgrade, shell)
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
    let revisions = size("STRATA_BENCH_REVISIONS", 1000);
    let tables = size("STRATA_BENCH_TABLES", 1000);
    let rows = size("STRATA_BENCH_ROWS", 1_000_000);
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
    println!(
        "(Alembic figures: docs/design.md §7, Flask-Migrate 4.1 / Alembic 1.20 on 1,000 revisions)"
    );

    let (initial, change) = bench_migrate(tables);
    println!();
    println!("strata migrate: {tables}-table declared schema (one index each), release build");
    row("migrate, empty database -> all tables", &initial, 5200.0);
    row(
        "migrate, database at head, 10 tables changed",
        &change,
        5200.0,
    );
    println!("(Alembic figure: docs/design.md §7, `flask db migrate` on 1,000 tables, 5.2 s)");

    let (upgrade, shell) = bench_rebuild(rows);
    println!();
    println!("table rebuild: {rows} rows, 3 indexes, one column's type changed");
    println!(
        "{:<38} {:>10.1} {:>12.1}",
        "strata upgrade",
        ms(upgrade.wall),
        upgrade.max_rss_kib as f64 / 1024.0
    );
    match shell {
        Some(d) => println!(
            "{:<38} {:>10.1} {:>12} {:>14} {:>7.2}x",
            "same script in the sqlite3 shell",
            ms(d),
            "",
            "",
            ms(upgrade.wall) / ms(d)
        ),
        None => println!("(sqlite3 shell not installed: no comparison)"),
    }
}
