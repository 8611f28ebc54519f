//! strata on a real dqlite cluster: three `dqlite-demo` nodes started on
//! 127.0.0.1 by each test, stopped by their process ids. The seed workflow
//! through a follower's address, a failing statement, the leader killed
//! during a run, quorum lost and regained, and two upgraders at once — each
//! revision applied exactly once, checked by reading the cluster.
//!
//! Needs go-dqlite (`apt-get install go-dqlite`: `dqlite-demo` and the
//! `dqlite` shell); skipped, saying so, where it is missing, and required
//! under CI (`.ci/run` installs it). More leader kills at random moments:
//! `STRATA_SOAK=20 cargo test --test cli dqlite` (docs/dqlite.md).

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

#[path = "../support/cluster.rs"]
mod cluster;

use crate::common::{repeats, strata_cmd, Rng, TestProject};
use cluster::Cluster;

/// Whether go-dqlite is installed; a visible skip where it is not (a
/// failure under CI, which installs it).
fn dqlite_or_skip(test: &str) -> bool {
    crate::common::tool_or_skip(test, "dqlite-demo", "--help", "go-dqlite", "go-dqlite")
}

/// A project on the cluster through `nodes`, with `count` revisions: the
/// first creates `marks`; each one creates `tN` and records a row in
/// `marks`, after `slow` steps of busy work (so a test can aim a kill at a
/// revision in progress). A revision run twice leaves two rows.
fn chain_project(url: &str, count: usize, slow: u64) -> TestProject {
    let p = TestProject::new();
    std::fs::write(
        p.path("strata.toml"),
        format!("database = \"{url}\"\nschema = \"schema.sql\"\nmigrations = \"migrations\"\n"),
    )
    .unwrap();
    let mut schema = String::from("CREATE TABLE marks (rev TEXT NOT NULL);\n");
    for n in 1..=count {
        let id = format!("{n:03}");
        let parent = if n == 1 {
            "base".to_string()
        } else {
            format!("{:03}", n - 1)
        };
        let first = if n == 1 {
            "CREATE TABLE marks (rev TEXT NOT NULL);\n"
        } else {
            ""
        };
        let busy = if slow > 0 {
            format!(
                "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {slow}) SELECT count(*) FROM c;\n"
            )
        } else {
            String::new()
        };
        std::fs::write(
            p.path(&format!("migrations/{id}_t{n}.up.sql")),
            format!(
                "-- strata:revision {id}\n-- strata:parent {parent}\n-- strata:message t{n}\n{first}CREATE TABLE t{n} (id INTEGER PRIMARY KEY);\n{busy}INSERT INTO marks VALUES ('{id}');\n"
            ),
        )
        .unwrap();
        let last = if n == 1 { "DROP TABLE marks;\n" } else { "" };
        std::fs::write(
            p.path(&format!("migrations/{id}_t{n}.down.sql")),
            format!("-- strata:revision {id}\nDROP TABLE t{n};\nDELETE FROM marks WHERE rev = '{id}';\n{last}"),
        )
        .unwrap();
        schema.push_str(&format!("CREATE TABLE t{n} (id INTEGER PRIMARY KEY);\n"));
    }
    std::fs::write(p.path("schema.sql"), schema).unwrap();
    p
}

/// Each of `count` revisions applied exactly once: one history row, one
/// `upgrade` in the log, one mark (its script ran once).
#[track_caller]
fn assert_applied_once(cluster: &Cluster, count: usize, label: &str) {
    let history = cluster.query("SELECT count(*), count(DISTINCT revision) FROM strata_history");
    assert_eq!(
        history.trim(),
        format!("{count}|{count}"),
        "{label}: history"
    );
    let marks = cluster.query("SELECT count(*), count(DISTINCT rev) FROM marks");
    assert_eq!(marks.trim(), format!("{count}|{count}"), "{label}: marks");
    let log = cluster.query(
        "SELECT count(*), count(DISTINCT revision) FROM strata_log WHERE direction = 'upgrade'",
    );
    assert_eq!(log.trim(), format!("{count}|{count}"), "{label}: log");
}

/// Busy-work steps that take a few hundred milliseconds on a node.
const SLOW: u64 = 1_500_000;

/// Spawns `strata upgrade` and returns it with a reader of its messages.
fn spawn_upgrade(p: &TestProject, extra: &[&str]) -> (Child, BufReader<std::process::ChildStderr>) {
    let mut child = strata_cmd()
        .current_dir(p.dir.path())
        .arg("upgrade")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stderr.take().unwrap());
    (child, out)
}

/// Reads `out` until a line contains `needle`.
fn wait_line(out: &mut BufReader<std::process::ChildStderr>, needle: &str) {
    let mut line = String::new();
    loop {
        line.clear();
        let n = out.read_line(&mut line).unwrap();
        assert!(n > 0, "the run ended before printing {needle:?}");
        if line.contains(needle) {
            return;
        }
    }
}

/// Waits for the run; its exit code and the rest of its messages.
fn finish(mut child: Child, mut out: BufReader<std::process::ChildStderr>) -> (i32, String) {
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut out, &mut stderr).unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), stderr)
}

#[test]
fn the_seed_workflow_runs_on_a_cluster_through_a_followers_address() {
    if !dqlite_or_skip("the_seed_workflow_runs_on_a_cluster_through_a_followers_address") {
        return;
    }
    let cluster = Cluster::start();
    let leader = cluster.leader();
    let follower = (0..3).find(|&i| i != leader).unwrap();
    let url = cluster.url(&[follower]);
    let p = TestProject::new();
    std::fs::remove_file(p.path("strata.toml")).unwrap();
    std::fs::remove_dir(p.path("migrations")).unwrap();
    p.run(&["init", "-d", &url]).ok();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n",
    )
    .unwrap();
    p.run(&["migrate", "-m", "users"]).ok();
    let up = p.run(&["upgrade"]).ok();
    assert!(up.stderr.contains(&url), "{}", up.stderr);
    cluster.query("INSERT INTO users (name) VALUES ('ada')");
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);\nCREATE INDEX users_name ON users (name);\n",
    )
    .unwrap();
    let migrate = p.run(&["migrate", "-m", "email"]).ok();
    assert!(migrate.stderr.contains("users.email"), "{}", migrate.stderr);
    // --backup: the leader's dump, as one SQLite file beside strata.toml.
    let up = p.run(&["upgrade", "--backup"]).ok();
    let backup = std::fs::read_dir(p.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.extension().is_some_and(|x| x == "bak"))
        .unwrap_or_else(|| panic!("no backup: {}", up.stderr));
    let copy = rusqlite::Connection::open(&backup).unwrap();
    let rows: i64 = copy
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1);
    let columns: i64 = copy
        .query_row("SELECT count(*) FROM pragma_table_info('users')", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(columns, 2, "the backup is from before the upgrade");
    assert_eq!(cluster.query("SELECT name FROM users").trim(), "ada");
    assert_eq!(
        cluster.query("SELECT count(*) FROM strata_history").trim(),
        "2"
    );
    p.run(&["diff"]).ok();
    p.run(&["check"]).ok();
    p.run(&["diff", "--against", "head"]).ok();
    let dump = p.run(&["dump"]).ok();
    assert!(dump.stdout.contains("email TEXT"), "{}", dump.stdout);
    // --sql starts where the cluster is, and says the shell cannot reach it.
    let sql = p.run(&["downgrade", "--sql", "-1"]).ok();
    assert!(
        sql.stdout.contains("For review: dqlite://"),
        "{}",
        sql.stdout
    );
    assert!(sql.stdout.contains("DROP INDEX"), "{}", sql.stdout);
    let history = p.run(&["history"]).ok();
    assert!(history.stdout.contains("email") && history.stdout.contains("applied"));
    p.run(&["downgrade", "-1"]).ok();
    let current = p.run(&["current", "--format", "json"]).ok();
    let json: serde_json::Value = serde_json::from_str(&current.stdout).unwrap();
    assert_eq!(json["database"], url.as_str(), "{}", current.stdout);
    // DATABASE_URL wins over strata.toml, as for a file.
    let leader_url = cluster.url(&[leader]);
    let current = p
        .run_with(
            &["current", "--format", "json"],
            &[("DATABASE_URL", &leader_url)],
        )
        .ok();
    let by_env: serde_json::Value = serde_json::from_str(&current.stdout).unwrap();
    assert_eq!(by_env["database"], leader_url.as_str());
    assert_eq!(by_env["current"], json["current"]);
    assert_eq!(
        cluster
            .query("SELECT count(*) FROM pragma_table_info('users')")
            .trim(),
        "2"
    );
    p.run(&["upgrade"]).ok();
    p.run(&["stamp", "base"]).ok();
    assert_eq!(
        cluster.query("SELECT count(*) FROM strata_history").trim(),
        "0"
    );
    p.run(&["stamp", "head"]).ok();
    p.run(&["diff", "--against", "head"]).ok();

    // A precheck stops on the cluster's SQLite (3.40) as on a file, with
    // the count in the message, and nothing changes.
    cluster.query("INSERT INTO users (name) VALUES ('bob')");
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL);\nCREATE INDEX users_name ON users (name);\n",
    )
    .unwrap();
    p.run(&["migrate", "-m", "email required"]).ok();
    let stopped = p.run(&["upgrade"]).fails(1);
    assert!(
        stopped
            .error()
            .contains("precheck failed: 2 row(s) of 'users' hold NULL in 'email'"),
        "{}",
        stopped.stderr
    );
    cluster.query("UPDATE users SET email = name || '@example.com'");
    p.run(&["upgrade"]).ok();
    assert_eq!(
        cluster.query("SELECT count(*) FROM strata_history").trim(),
        "3"
    );
    p.run(&["diff"]).ok();

    // init --from-db adopts a database already on the cluster: its schema
    // becomes schema.sql and a baseline, and the cluster is stamped at it.
    cluster.query_in(
        "legacy",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",
    );
    let adopt = tempfile::tempdir().unwrap();
    let legacy = url.replace(&format!("/{}", cluster::DB), "/legacy");
    crate::common::run_in(
        adopt.path(),
        &crate::common::os(&["init", "--from-db", "-d", &legacy]),
    )
    .ok();
    let schema = std::fs::read_to_string(adopt.path().join("schema.sql")).unwrap();
    assert!(schema.contains("CREATE TABLE notes"), "{schema}");
    assert_eq!(
        cluster
            .query_in("legacy", "SELECT count(*) FROM strata_history")
            .trim(),
        "1"
    );
    crate::common::run_in(adopt.path(), &crate::common::os(&["check"])).ok();

    // A failing statement leaves nothing: not the statements before it,
    // not a history row.
    std::fs::write(
        p.path("migrations/9_bad.up.sql"),
        format!(
            "-- strata:revision 9\n-- strata:parent {}\n-- strata:message bad\nCREATE TABLE half (id INTEGER);\nINSERT INTO half VALUES (1);\nINSERT INTO no_such_table VALUES (1);\n",
            serde_json::from_str::<serde_json::Value>(&p.run(&["heads", "--format", "json"]).ok().stdout).unwrap()
                ["heads"][0]["revision"]
                .as_str()
                .unwrap()
        ),
    )
    .unwrap();
    std::fs::write(
        p.path("migrations/9_bad.down.sql"),
        "-- strata:revision 9\nDROP TABLE half;\n",
    )
    .unwrap();
    let bad = p.run(&["upgrade"]).fails(1);
    assert!(bad.error().contains("9_bad.up.sql:6"), "{}", bad.stderr);
    assert!(bad.error().contains("no_such_table"), "{}", bad.stderr);
    assert_eq!(
        cluster
            .query("SELECT count(*) FROM sqlite_schema WHERE name = 'half'")
            .trim(),
        "0"
    );
    assert_eq!(
        cluster.query("SELECT count(*) FROM strata_history").trim(),
        "3"
    );
}

#[test]
fn a_cluster_url_that_cannot_work_is_one_clear_error() {
    let p = TestProject::new();
    let bad = p
        .run(&["-d", "dqlite://127.0.0.1:9001", "current"])
        .fails(2);
    assert!(bad.error().contains("names no database"), "{}", bad.stderr);
    assert!(
        bad.stderr.contains("hint: a cluster is dqlite://"),
        "{}",
        bad.stderr
    );
    // Nothing listens: a bounded wait, then the cluster's state said plainly.
    let port = cluster::free_port();
    let url = format!("dqlite://127.0.0.1:{port}/app");
    let started = Instant::now();
    let down = p
        .run(&["-d", &url, "upgrade", "--lock-timeout", "1"])
        .fails(1);
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(down.error().contains("no leader"), "{}", down.stderr);
    assert!(
        down.stderr.contains("hint: check the addresses"),
        "{}",
        down.stderr
    );
}

#[test]
fn the_leader_killed_during_a_run_the_run_finishes_on_the_new_leader() {
    if !dqlite_or_skip("the_leader_killed_during_a_run_the_run_finishes_on_the_new_leader") {
        return;
    }
    let mut rng = Rng::new();
    // Round 0: slow revisions, the kill lands in revision 003 after its
    // BEGIN, inside a statement. Round 1: quick revisions, most of whose
    // time is their COMMIT, so the kill lands around a COMMIT or between
    // two revisions. Soak rounds pick either, and the revision and moment.
    for round in 0..repeats(2) {
        let mut cluster = Cluster::start();
        let slow = round % 2 == 0;
        let (count, busy) = if slow { (6, SLOW) } else { (60, 0) };
        let p = chain_project(&cluster.url(&[0, 1, 2]), count, busy);
        let leader = cluster.leader();
        let (child, mut out) = spawn_upgrade(&p, &["-v"]);
        let at = match round {
            0 => 3,
            1 => 10,
            _ if slow => rng.below(6) + 1,
            _ => rng.below(40) + 1,
        };
        wait_line(&mut out, &format!("-> {at:03}"));
        if round > 1 {
            std::thread::sleep(Duration::from_millis(rng.below(if slow {
                400
            } else {
                20
            })));
        }
        cluster.kill(leader);
        let (code, stderr) = finish(child, out);
        let label = format!("round {round} (seed {})", rng.seed);
        assert_eq!(code, 0, "{label}: {stderr}");
        // The CI rounds aim inside the run; a soak round's random moment
        // may come after its last COMMIT, which is a run that finished.
        assert!(
            round > 1 || stderr.contains("reconnected to the leader at 127.0.0.1:"),
            "{label}: the kill landed after the run: {stderr}"
        );
        assert_applied_once(&cluster, count, &label);
        p.run(&["diff", "--against", "head"]).ok();
    }
}

#[test]
fn a_leader_that_hangs_mid_revision_is_passed_over_and_nothing_applies_twice() {
    if !dqlite_or_skip("a_leader_that_hangs_mid_revision_is_passed_over_and_nothing_applies_twice")
    {
        return;
    }
    // SIGSTOP, not SIGKILL: the leader keeps strata's connection open and
    // answers nothing, as behind a network partition. strata gives up on
    // it after its answer timeout, finds the leader the other two elect,
    // and the revision in flight (never committed) runs there once.
    let mut cluster = Cluster::start();
    let p = chain_project(&cluster.url(&[0, 1, 2]), 4, SLOW);
    let leader = cluster.leader();
    let (child, mut out) = spawn_upgrade(&p, &["-v"]);
    wait_line(&mut out, "-> 002");
    cluster.pause(leader);
    let (code, stderr) = finish(child, out);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("reconnected to the leader at 127.0.0.1:"),
        "{stderr}"
    );
    assert_ne!(cluster.leader(), leader);
    assert_applied_once(&cluster, 4, "with the old leader paused");
    // The old leader comes back as a follower; its open transaction is
    // gone, and nothing it held is applied again.
    cluster.resume(leader);
    p.run(&["upgrade"]).ok();
    assert_applied_once(&cluster, 4, "with the old leader back");
    p.run(&["diff", "--against", "head"]).ok();
}

#[test]
fn quorum_lost_is_a_clear_error_and_a_rerun_applies_nothing_twice() {
    if !dqlite_or_skip("quorum_lost_is_a_clear_error_and_a_rerun_applies_nothing_twice") {
        return;
    }
    let mut cluster = Cluster::start();
    let p = chain_project(&cluster.url(&[0, 1, 2]), 5, SLOW);
    let (child, mut out) = spawn_upgrade(&p, &["-v", "--lock-timeout", "3"]);
    wait_line(&mut out, "-> 002");
    // The leader and one follower: the last node cannot elect itself.
    let leader = cluster.leader();
    let follower = (0..3).find(|&i| i != leader).unwrap();
    cluster.kill(leader);
    cluster.kill(follower);
    let (code, stderr) = finish(child, out);
    assert_eq!(code, 1, "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("no leader"), "{stderr}");
    assert!(errors[0].contains("unknown"), "{stderr}");
    // The cluster's state, said plainly: each address and what it answered.
    assert!(errors[0].contains("1 of 3 node(s) answered"), "{stderr}");
    assert!(errors[0].contains("Connection refused"), "{stderr}");
    assert!(stderr.contains("hint: bring a majority"), "{stderr}");
    cluster.restart(leader);
    cluster.restart(follower);
    cluster.leader();
    // The hint, followed as written: the same command again.
    p.run(&["upgrade", "--lock-timeout", "30"]).ok();
    assert_applied_once(&cluster, 5, "after quorum came back");
    p.run(&["diff", "--against", "head"]).ok();
}

#[test]
fn two_upgraders_at_once_apply_each_revision_once() {
    if !dqlite_or_skip("two_upgraders_at_once_apply_each_revision_once") {
        return;
    }
    let cluster = Cluster::start();
    let p = chain_project(&cluster.url(&[0, 1, 2]), 12, 0);
    let runs: Vec<Child> = (0..2)
        .map(|_| {
            strata_cmd()
                .current_dir(p.dir.path())
                .arg("upgrade")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_applied_once(&cluster, 12, "two upgraders");
    // And --single-transaction on the same cluster: all or nothing.
    p.run(&["downgrade", "base"]).ok();
    p.run(&["upgrade", "--single-transaction"]).ok();
    assert_eq!(
        cluster.query("SELECT count(*) FROM strata_history").trim(),
        "12"
    );
}
