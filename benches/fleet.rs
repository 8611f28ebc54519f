//! `cargo bench --bench fleet`: a fleet upgrade through the release binary
//! against a floor run side by side — a minimal Rust loop doing the least
//! any tool must per tenant (open, read the history, the revision's ALTER +
//! CREATE INDEX and a history row in one transaction, synchronous = FULL),
//! on the same number of threads. Then a no-op pass (every tenant at head),
//! and peak RSS of no-op passes over growing fleets (memory must stay
//! flat).
//!
//! `STRATA_BENCH_TENANTS` (default 10,000) sets the fleet; `STRATA_BENCH_BIG`
//! (default 100,000) the largest no-op pass; `STRATA_BENCH_JOBS` the jobs.

use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const UP: &str = "ALTER TABLE users ADD COLUMN bio TEXT;\nCREATE INDEX users_bio ON users (bio);\n";

/// A project whose one revision adds a column and an index, and `n`
/// tenants that have `users` and no strata history yet (the revision
/// before it was applied by hand: the base).
fn project(dir: &Path, n: usize) -> PathBuf {
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    std::fs::write(dir.join("strata.toml"), "database = \"app.db\"\n").unwrap();
    std::fs::write(
        dir.join("migrations/1_bio.up.sql"),
        format!("-- strata:revision 1\n-- strata:parent base\n-- strata:message bio\n\n{UP}"),
    )
    .unwrap();
    std::fs::write(
        dir.join("migrations/1_bio.down.sql"),
        "-- strata:revision 1\n\nDROP INDEX users_bio;\nALTER TABLE users DROP COLUMN bio;\n",
    )
    .unwrap();
    let tenants = dir.join("tenants");
    let _ = std::fs::remove_dir_all(&tenants);
    std::fs::create_dir_all(&tenants).unwrap();
    let template = dir.join("template.sqlite");
    let _ = std::fs::remove_file(&template);
    rusqlite::Connection::open(&template)
        .unwrap()
        .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);")
        .unwrap();
    for i in 0..n {
        std::fs::copy(&template, tenants.join(format!("t{i:06}.db"))).unwrap();
    }
    tenants
}

fn tenants_of(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// The floor: the same change, by hand, `jobs` threads.
fn floor(tenants: &[PathBuf], jobs: usize) -> Duration {
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = tenants.get(i) else { break };
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.execute_batch("PRAGMA synchronous = FULL").unwrap();
                // Read the history (strata's own table, once strata has run).
                let applied: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM sqlite_schema WHERE name = 'strata_history'",
                        [],
                        |r| r.get(0),
                    )
                    .unwrap();
                if applied == 1 {
                    let _: i64 = conn
                        .query_row("SELECT count(*) FROM strata_history", [], |r| r.get(0))
                        .unwrap();
                } else {
                    conn.execute_batch(&format!(
                        "BEGIN IMMEDIATE;\
                         CREATE TABLE strata_history (revision TEXT PRIMARY KEY, applied_at TEXT);\
                         {UP}INSERT INTO strata_history VALUES ('1', datetime('now'));COMMIT;"
                    ))
                    .unwrap();
                }
            });
        }
    });
    started.elapsed()
}

mod common;

/// A strata run: wall time and peak RSS (KiB).
fn strata(dir: &Path, args: &[&str]) -> (Duration, i64) {
    let sample = common::run(dir, args);
    (sample.wall, sample.max_rss_kib)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn main() {
    let n = env_usize("STRATA_BENCH_TENANTS", 10_000);
    let big = env_usize("STRATA_BENCH_BIG", 100_000);
    let jobs = env_usize("STRATA_BENCH_JOBS", 8);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-fleet");
    let dir = root.join("project");
    let jobs_arg = jobs.to_string();
    let upgrade = [
        "-q",
        "upgrade",
        "--each",
        "tenants/*.db",
        "--jobs",
        jobs_arg.as_str(),
    ];

    println!(
        "fleet of {n} tenants, {jobs} jobs, one revision (ALTER + CREATE INDEX + history row)"
    );
    // Alternate floor and strata on fresh copies, three rounds each.
    let mut floors = Vec::new();
    let mut stratas = Vec::new();
    for _ in 0..3 {
        let tenants = project(&dir, n);
        floors.push(floor(&tenants_of(&tenants), jobs));
        project(&dir, n);
        stratas.push(strata(&dir, &upgrade).0);
    }
    floors.sort();
    stratas.sort();
    let (f, s) = (floors[1], stratas[1]);
    println!("  floor (minimal Rust loop)      {}", secs(f));
    println!(
        "  strata upgrade --each          {}   {:.2}x the floor",
        secs(s),
        s.as_secs_f64() / f.as_secs_f64()
    );
    let mut noops: Vec<Duration> = (0..5).map(|_| strata(&dir, &upgrade).0).collect();
    noops.sort();
    let all = tenants_of(&dir.join("tenants"));
    let mut floor_noops: Vec<Duration> = (0..5).map(|_| floor(&all, jobs)).collect();
    floor_noops.sort();
    println!(
        "  no-op floor (open + read history) {}",
        secs(floor_noops[2])
    );
    println!(
        "  no-op pass (all at head)       {}   {:.2}x the floor",
        secs(noops[2]),
        noops[2].as_secs_f64() / floor_noops[2].as_secs_f64()
    );
    let (start_up, _) = strata(&dir, &["--version"]);
    println!("  process start-up               {}", secs(start_up));

    println!("peak RSS of a no-op `current` pass as the fleet grows");
    for size in [1_000, 10_000, big] {
        let d = root.join(format!("rss-{size}"));
        project(&d, size);
        strata(&d, &upgrade);
        let (wall, rss) = strata(
            &d,
            &[
                "-q",
                "--format",
                "json",
                "current",
                "--each",
                "tenants/*.db",
            ],
        );
        println!(
            "  {size:>7} tenants   {:>8}   {:.1} MB",
            secs(wall),
            rss as f64 / 1024.0
        );
        let _ = std::fs::remove_dir_all(&d);
    }
    let _ = std::fs::remove_dir_all(&root);
}
