//! Processes at once: an upgrader racing a downgrader, readers during a long
//! upgrade, an application holding a write transaction. (Eight upgraders at
//! once: `safety::eight_concurrent_upgrades_apply_each_revision_once`.)
//!
//! A few rounds in CI; `STRATA_SOAK=50` repeats them (docs/reliability.md).

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{assert_chain_consistent, repeats, strata_cmd, table_chain, TestProject};

const ROWS: usize = 5000;

fn spawn(p: &TestProject, args: &[&str]) -> Child {
    strata_cmd()
        .current_dir(p.dir.path())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn an_upgrader_racing_a_downgrader_stays_consistent() {
    let p = TestProject::new();
    table_chain(&p, 30, ROWS);
    let rounds = repeats(3);
    let mut conflicts = 0;
    for round in 0..rounds {
        p.run(&["upgrade", "015"]).ok();
        let up = spawn(&p, &["upgrade"]);
        let down = spawn(&p, &["downgrade", "base"]);
        for (name, child) in [("upgrade", up), ("downgrade", down)] {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            match out.status.code() {
                Some(0) => {}
                Some(1) => {
                    assert!(
                        stderr.contains("another process is moving the database the other way"),
                        "round {round}, {name}: {stderr}"
                    );
                    assert_eq!(
                        stderr.lines().filter(|l| l.starts_with("error:")).count(),
                        1
                    );
                    conflicts += 1;
                }
                other => panic!("round {round}, {name}: exit {other:?}: {stderr}"),
            }
        }
        assert_chain_consistent(&p, 30, ROWS as i64, &format!("round {round}"));
        p.run(&["downgrade", "base"]).ok();
    }
    eprintln!("up/down races: {rounds} rounds, {conflicts} runs stopped on a conflict");
}

#[test]
fn readers_answer_during_a_long_upgrade() {
    let p = TestProject::new();
    p.write_revision(
        "1",
        "base",
        "big",
        "CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT);\n\
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300000)\n\
         INSERT INTO big SELECT i, hex(randomblob(16)) FROM c;\n",
        "DROP TABLE big;\n",
    );
    p.write_revision(
        "2",
        "1",
        "index",
        "CREATE INDEX big_v ON big (v);\nCREATE TABLE big2 AS SELECT * FROM big;\n",
        "DROP TABLE big2;\nDROP INDEX big_v;\n",
    );
    p.run(&["upgrade", "1"]).ok();
    for round in 0..repeats(2) {
        let writer = spawn(&p, &["upgrade"]);
        let mut answers = 0;
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(1500) {
            for cmd in ["current", "history"] {
                let asked = Instant::now();
                let run = p.run(&[cmd]);
                let took = asked.elapsed();
                assert!(took < Duration::from_secs(12), "{cmd} blocked {took:?}");
                match run.code {
                    0 => {
                        // Either side of the revision, never between.
                        let text = format!("{}{}", run.stdout, run.stderr);
                        assert!(
                            text.contains("2 (head")
                                || text.contains("\n1")
                                || text.starts_with('1')
                                || text.contains(" 1 "),
                            "{cmd}: {text}"
                        );
                        answers += 1;
                    }
                    1 => assert!(
                        run.error().contains("locked") || run.error().contains("busy"),
                        "{}",
                        run.stderr
                    ),
                    other => panic!("{cmd} exited {other}: {}", run.stderr),
                }
            }
        }
        let out = writer.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(answers > 0, "round {round}: no reader answered");
        p.run(&["downgrade", "1"]).ok();
    }
}

#[test]
fn a_busy_database_is_reported_not_waited_on_forever() {
    let p = TestProject::new();
    table_chain(&p, 2, ROWS);
    p.run(&["upgrade", "001"]).ok();
    // Read before the lock: closing any descriptor of the file in this
    // process would release the application's POSIX lock.
    let bytes = p.db_bytes();
    let app = p.db();
    app.execute_batch("BEGIN EXCLUSIVE; INSERT INTO t1 (id) VALUES (9999);")
        .unwrap();
    let started = Instant::now();
    let run = p.run(&["upgrade", "--lock-timeout", "1"]).fails(1);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(run.error().contains("locked"), "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    // Readers give up within their bounded wait, with the same hint.
    let started = Instant::now();
    let run = p.run(&["current"]).fails(1);
    assert!(started.elapsed() < Duration::from_secs(12));
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    app.execute_batch("ROLLBACK").unwrap();
    drop(app);
    assert_eq!(p.db_bytes(), bytes);
    p.run(&["upgrade"]).ok();
    assert_eq!(p.applied().len(), 2);
}
