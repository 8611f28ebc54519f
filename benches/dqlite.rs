//! `cargo bench --bench dqlite`: strata on a 3-node dqlite cluster on
//! 127.0.0.1 (go-dqlite's `dqlite-demo`, tests/support/cluster.rs), each
//! figure beside a floor doing the same work without strata: a minimal loop
//! over strata's wire client sending the same statements, one transaction
//! per revision (or one for all), with the same history row.
//!
//! - per revision: revisions like the probe (BEGIN, CREATE, INSERT,
//!   ALTER, UPDATE, CREATE INDEX, history row, COMMIT);
//! - the 1,000-revision chain of the other benchmarks, with and without
//!   `--single-transaction`;
//! - failover: the leader killed during a run; how long after the new
//!   leader first accepts a write the run carries on.
//!
//! `STRATA_BENCH_REVISIONS` resizes the chain (default 1,000). Needs go-dqlite.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use strata::dqlite::{Client, Cluster as Url};
use strata::engine::Engine;

#[allow(dead_code)] // restarts are the tests'
#[path = "../tests/support/cluster.rs"]
mod cluster;
#[allow(dead_code)] // the process runners are the other benchmarks'
mod common;

use cluster::Cluster;
use common::revision_body;

/// The probe's revision `n`: create, insert, alter, update, index.
fn probe_body(n: usize) -> String {
    format!(
        "CREATE TABLE p{n} (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO p{n} (name) VALUES ('a'), ('b'), ('c');\nALTER TABLE p{n} ADD COLUMN email TEXT;\nUPDATE p{n} SET email = name || '@example.com';\nCREATE INDEX p{n}_email ON p{n} (email);\n"
    )
}

fn write_chain(dir: &Path, url: &str, n: usize, body: &dyn Fn(usize) -> String) {
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    std::fs::write(dir.join("strata.toml"), format!("database = \"{url}\"\n")).unwrap();
    let id = |n: usize| format!("2026{n:010}");
    for i in 0..n {
        let parent = if i == 0 { "base".into() } else { id(i - 1) };
        std::fs::write(
            dir.join(format!("migrations/{}_r{i}.up.sql", id(i))),
            format!(
                "-- strata:revision {}\n-- strata:parent {parent}\n-- strata:message r{i}\n{}",
                id(i),
                body(i)
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("migrations/{}_r{i}.down.sql", id(i))),
            format!(
                "-- strata:revision {}\nDROP TABLE IF EXISTS p{i};\nDROP TABLE IF EXISTS t{i};\n",
                id(i)
            ),
        )
        .unwrap();
    }
}

fn strata(dir: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .current_dir(dir)
        .args(args)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "strata {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// The floor: the same scripts and a history row each, through strata's
/// client, with no planning, checks or reading of state.
fn floor(url: &str, n: usize, body: &dyn Fn(usize) -> String, single: bool) -> Duration {
    let client = Client::connect(&Url::parse(url).unwrap(), Duration::from_secs(10)).unwrap();
    let started = Instant::now();
    client
        .execute_batch(
            "PRAGMA foreign_keys = OFF; CREATE TABLE IF NOT EXISTS floor_history (revision TEXT PRIMARY KEY, applied_at TEXT, duration_ms INTEGER)",
        )
        .unwrap();
    if single {
        client.execute_batch("BEGIN IMMEDIATE").unwrap();
    }
    for i in 0..n {
        if !single {
            client.execute_batch("BEGIN IMMEDIATE").unwrap();
        }
        for stmt in body(i).split_inclusive(";\n") {
            client.execute(stmt, &[]).unwrap();
        }
        client
            .execute(
                "INSERT INTO floor_history VALUES (?1, ?2, ?3)",
                &[
                    format!("r{i}").into(),
                    "2026-12-04T00:00:00Z".into(),
                    1i64.into(),
                ],
            )
            .unwrap();
        if !single {
            client.execute_batch("COMMIT").unwrap();
        }
    }
    if single {
        client.execute_batch("COMMIT").unwrap();
    }
    let took = started.elapsed();
    // Leave the database as it was for the next run.
    let mut drop = String::from("BEGIN;");
    for i in 0..n {
        drop.push_str(&format!(
            "DROP TABLE IF EXISTS p{i}; DROP TABLE IF EXISTS t{i};"
        ));
    }
    drop.push_str("DROP TABLE floor_history; COMMIT;");
    client.execute_batch(&drop).unwrap();
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// strata and its floor, alternating, `times` runs each; the database is
/// taken back to base (untimed) after each strata run.
fn pair(
    dir: &Path,
    url: &str,
    n: usize,
    body: &dyn Fn(usize) -> String,
    single: bool,
    times: usize,
) -> (Duration, Duration) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let args: &[&str] = if single {
        &["upgrade", "--single-transaction"]
    } else {
        &["upgrade"]
    };
    for _ in 0..times {
        a.push(strata(dir, args));
        strata(dir, &["downgrade", "base", "--single-transaction"]);
        b.push(floor(url, n, body, single));
    }
    (median(a), median(b))
}

fn report(what: &str, n: usize, strata: Duration, floor: Duration) {
    println!(
        "| {what} | {n} | {} ({} per revision) | {} ({} per revision) | {:.2}× |",
        ms(strata),
        ms(strata / n as u32),
        ms(floor),
        ms(floor / n as u32),
        strata.as_secs_f64() / floor.as_secs_f64()
    );
}

/// The leader killed in revision 3 of a run of slow revisions: when the new
/// leader first took a write (a second client probing every 20 ms) and
/// when strata said it had reconnected.
fn failover(url_nodes: &mut Cluster) -> (Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let url = url_nodes.url(&[0, 1, 2]);
    let busy = |i: usize| {
        format!("CREATE TABLE t{i} (id INTEGER PRIMARY KEY);\nWITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1500000) SELECT count(*) FROM c;\n")
    };
    write_chain(dir.path(), &url, 6, &busy);
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .current_dir(dir.path())
        .args(["upgrade"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("r2") {
        line.clear();
        assert!(
            lines.read_line(&mut line).unwrap() > 0,
            "the run ended early"
        );
    }
    let leader = url_nodes.leader();
    url_nodes.kill(leader);
    let killed = Instant::now();
    // A second writer: the first moment the new leader takes a write.
    let accepted: Arc<Mutex<Option<Instant>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let (accepted, stop) = (Arc::clone(&accepted), Arc::clone(&stop));
        let seeds = url.replace("/app", "/probe");
        std::thread::spawn(move || {
            let cluster = Url::parse(&seeds).unwrap();
            while !stop.load(Ordering::SeqCst) {
                let wrote = Client::connect(&cluster, Duration::from_millis(20)).and_then(|c| {
                    c.execute_batch("CREATE TABLE IF NOT EXISTS w (x); INSERT INTO w VALUES (1)")
                });
                if wrote.is_ok() {
                    *accepted.lock().unwrap() = Some(Instant::now());
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let mut reconnected = None;
    loop {
        line.clear();
        if lines.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if reconnected.is_none() && line.contains("reconnected") {
            reconnected = Some(Instant::now());
        }
    }
    assert!(child.wait().unwrap().success(), "the run failed over");
    stop.store(true, Ordering::SeqCst);
    probe.join().unwrap();
    let accepted = accepted
        .lock()
        .unwrap()
        .expect("the new leader took a write");
    let reconnected = reconnected.expect("strata said it reconnected");
    (
        accepted - killed,
        reconnected.saturating_duration_since(accepted),
    )
}

fn main() {
    if Command::new("dqlite-demo").arg("--help").output().is_err() {
        eprintln!("SKIPPED: the dqlite benchmark needs go-dqlite (apt-get install go-dqlite)");
        return;
    }
    let n: usize = std::env::var("STRATA_BENCH_REVISIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let cluster = Cluster::start();
    let url = cluster.url(&[0, 1, 2]);
    println!("| run | revisions | strata | floor (a minimal client loop) | ratio |");
    println!("|---|---|---|---|---|");
    let probe = tempfile::tempdir().unwrap();
    write_chain(probe.path(), &url, 100, &probe_body);
    let (a, b) = pair(probe.path(), &url, 100, &probe_body, false, 5);
    report("probe-like revisions, `upgrade`", 100, a, b);
    let chain = tempfile::tempdir().unwrap();
    write_chain(chain.path(), &url, n, &revision_body);
    let (a, b) = pair(chain.path(), &url, n, &revision_body, false, 3);
    report("chain, `upgrade`", n, a, b);
    let (a, b) = pair(chain.path(), &url, n, &revision_body, true, 3);
    report("chain, `upgrade --single-transaction`", n, a, b);
    drop(cluster);
    let mut times = Vec::new();
    for _ in 0..3 {
        let mut cluster = Cluster::start();
        times.push(failover(&mut cluster));
    }
    times.sort_by_key(|t| t.1);
    let (elected, resumed) = times[times.len() / 2];
    println!();
    println!(
        "failover (median of 3): a new leader took a write {} after the kill; strata reconnected {} after that",
        ms(elected),
        ms(resumed)
    );
}
