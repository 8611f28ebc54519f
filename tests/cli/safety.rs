//! The runner's promises (docs/design.md §5): each revision once, all or nothing,
//! killed processes leave a revision boundary, child rows survive rebuilds.

use std::process::Stdio;
use std::time::Duration;

use crate::common::*;

fn id(n: usize) -> String {
    format!("2026010100{n:04}")
}

/// `count` revisions in a line; each inserts its own number into `ran`.
fn chain(p: &TestProject, count: usize) {
    p.write_revision(
        &id(0),
        "base",
        "ran table",
        "CREATE TABLE ran (n INTEGER NOT NULL);\n",
        "DROP TABLE ran;\n",
    );
    for n in 1..=count {
        p.write_revision(
            &id(n),
            &id(n - 1),
            &format!("step {n}"),
            &format!("INSERT INTO ran (n) VALUES ({n});\n"),
            &format!("DELETE FROM ran WHERE n = {n};\n"),
        );
    }
}

#[test]
fn eight_concurrent_upgrades_apply_each_revision_once() {
    let p = TestProject::new();
    chain(&p, 20);
    let children: Vec<_> = (0..8)
        .map(|_| {
            strata_cmd()
                .current_dir(p.dir.path())
                .args(["upgrade", "-q"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(p.query_i64("SELECT count(*) FROM ran"), 20);
    assert_eq!(p.query_i64("SELECT count(DISTINCT n) FROM ran"), 20);
    assert_eq!(p.applied().len(), 21);
    assert_eq!(
        p.query_i64("SELECT count(*) FROM strata_log WHERE direction = 'upgrade'"),
        21
    );
}

#[test]
fn failing_statement_rolls_back_its_revision_only() {
    let p = TestProject::new();
    p.write_revision(
        &id(1),
        "base",
        "first",
        "CREATE TABLE a (x);\n",
        "DROP TABLE a;\n",
    );
    p.write_revision(
        &id(2),
        &id(1),
        "second",
        "CREATE TABLE b (x);\nINSERT INTO a VALUES (1);\n\nINSERT INTO missing VALUES (1);\n",
        "DROP TABLE b;\n",
    );
    let before = p.db_bytes();
    let run = p.run(&["upgrade"]).fails(1);
    assert_ne!(before, p.db_bytes());
    assert_eq!(p.applied(), [id(1)]);
    assert_eq!(
        p.query_i64("SELECT count(*) FROM sqlite_schema WHERE name = 'b'"),
        0
    );
    assert_eq!(p.query_i64("SELECT count(*) FROM a"), 0);
    let file = p
        .up_file(&id(2))
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // Header (4 lines) + blank line: the failing INSERT is on line 9.
    assert!(
        run.error()
            .contains(&format!("{file}:9: no such table: missing")),
        "{}",
        run.stderr
    );
}

#[test]
fn transaction_control_in_a_script_is_refused() {
    let p = TestProject::new();
    p.write_revision(
        &id(1),
        "base",
        "sneaky",
        "CREATE TABLE a (x);\nCOMMIT;\n",
        "DROP TABLE a;\n",
    );
    let run = p.run(&["upgrade"]).fails(1);
    assert!(
        run.error().contains(":7: transaction control"),
        "{}",
        run.stderr
    );
    assert!(p.applied().is_empty());
    assert_eq!(
        p.query_i64("SELECT count(*) FROM sqlite_schema WHERE name = 'a'"),
        0
    );
}

#[test]
fn kill_nine_leaves_a_revision_boundary() {
    let p = TestProject::new();
    p.write_revision(
        &id(1),
        "base",
        "big table",
        "CREATE TABLE big (n INTEGER, pad TEXT);\n",
        "DROP TABLE big;\n",
    );
    p.write_revision(
        &id(2),
        &id(1),
        "fill",
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1500000)\n\
         INSERT INTO big SELECT n, printf('%040d', n) FROM c;\n",
        "DELETE FROM big;\n",
    );
    p.write_revision(
        &id(3),
        "base",
        "index",
        "CREATE INDEX big_n ON big (n);\n",
        "DROP INDEX big_n;\n",
    );
    // id(3) must follow id(2): rewrite its parent.
    let path = p.up_file(&id(3));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("parent   base", &format!("parent   {}", id(2)));
    std::fs::write(&path, text).unwrap();

    for delay_ms in [150u64, 400, 700, 1000] {
        let mut child = strata_cmd()
            .current_dir(p.dir.path())
            .args(["upgrade", "-q"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        let conn = p.db();
        assert!(integrity_ok(&conn), "integrity after kill at {delay_ms} ms");
        let applied = applied(&conn);
        let rows: i64 = if applied.contains(&id(1)) {
            conn.query_row("SELECT count(*) FROM big", [], |r| r.get(0))
                .unwrap()
        } else {
            0
        };
        let expected = if applied.contains(&id(2)) {
            1_500_000
        } else {
            0
        };
        assert_eq!(
            rows, expected,
            "at a revision boundary after kill at {delay_ms} ms: {applied:?}"
        );
        drop(conn);
        if applied.len() == 3 {
            p.run(&["downgrade", &id(1)]).ok();
        }
    }
    p.run(&["upgrade"]).ok();
    assert_eq!(p.applied().len(), 3);
    assert_eq!(p.query_i64("SELECT count(*) FROM big"), 1_500_000);
}

#[test]
fn rebuilding_a_parent_keeps_cascading_children() {
    let p = TestProject::new();
    p.write_revision(
        &id(1),
        "base",
        "parent and child",
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);\n\
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE);\n\
         CREATE TABLE grandchild (id INTEGER PRIMARY KEY, child_id INTEGER REFERENCES child (id) ON DELETE CASCADE);\n",
        "DROP TABLE grandchild;\nDROP TABLE child;\nDROP TABLE parent;\n",
    );
    // The 12-step rebuild, by hand: new table, copy, drop old, rename.
    p.write_revision(
        &id(2),
        &id(1),
        "rebuild parent",
        "CREATE TABLE parent_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');\n\
         INSERT INTO parent_new (id, name) SELECT id, coalesce(name, '') FROM parent;\n\
         DROP TABLE parent;\n\
         ALTER TABLE parent_new RENAME TO parent;\n",
        "CREATE TABLE parent_old (id INTEGER PRIMARY KEY, name TEXT);\n\
         INSERT INTO parent_old (id, name) SELECT id, name FROM parent;\n\
         DROP TABLE parent;\n\
         ALTER TABLE parent_old RENAME TO parent;\n",
    );
    p.run(&["upgrade", &id(1)]).ok();
    p.db()
        .execute_batch(
            "INSERT INTO parent VALUES (1, 'a'), (2, NULL);
             INSERT INTO child VALUES (10, 1), (11, 1), (12, 2);
             INSERT INTO grandchild VALUES (100, 10), (101, 12);",
        )
        .unwrap();
    p.run(&["upgrade"]).ok();
    assert_eq!(p.query_i64("SELECT count(*) FROM child"), 3);
    assert_eq!(p.query_i64("SELECT count(*) FROM grandchild"), 2);
    p.run(&["downgrade"]).ok();
    assert_eq!(p.query_i64("SELECT count(*) FROM child"), 3);
    assert_eq!(p.query_i64("SELECT count(*) FROM grandchild"), 2);
    assert_eq!(
        p.query_i64("SELECT count(*) FROM pragma_foreign_key_check"),
        0
    );
}

#[test]
fn foreign_key_violations_abort_the_revision() {
    let p = TestProject::new();
    p.write_revision(
        &id(1),
        "base",
        "tables",
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);\nCREATE TABLE child (pid INTEGER REFERENCES parent (id));\n",
        "DROP TABLE child;\nDROP TABLE parent;\n",
    );
    p.write_revision(
        &id(2),
        &id(1),
        "orphan",
        "INSERT INTO child VALUES (42);\n",
        "DELETE FROM child;\n",
    );
    p.run(&["upgrade", &id(1)]).ok();
    let before = p.db_bytes();
    let run = p.run(&["upgrade"]).fails(1);
    assert!(
        run.error().contains("foreign key violation"),
        "{}",
        run.stderr
    );
    assert!(run.error().contains("child rowid 1"), "{}", run.stderr);
    assert_eq!(p.db_bytes(), before);
}

/// The check runs after revisions that can change rows; one that only
/// creates objects cannot break a foreign key, so a violation already in
/// the database does not stop it — the next data change is stopped.
#[test]
fn foreign_keys_are_checked_after_revisions_that_can_change_rows() {
    let p = TestProject::new();
    p.write_revision(
        &id(1),
        "base",
        "tables",
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);\nCREATE TABLE child (pid INTEGER REFERENCES parent (id));\n",
        "DROP TABLE child;\nDROP TABLE parent;\n",
    );
    p.write_revision(
        &id(2),
        &id(1),
        "index",
        "CREATE INDEX child_pid ON child (pid);\n",
        "DROP INDEX child_pid;\n",
    );
    p.write_revision(
        &id(3),
        &id(2),
        "data",
        "UPDATE child SET pid = pid;\n",
        "SELECT 1;\n",
    );
    p.run(&["upgrade", &id(1)]).ok();
    p.db()
        .execute_batch("PRAGMA foreign_keys = OFF; INSERT INTO child VALUES (7);")
        .unwrap();
    p.run(&["upgrade", &id(2)]).ok();
    let run = p.run(&["upgrade"]).fails(1);
    assert!(run.error().contains("child rowid 1"), "{}", run.stderr);
    assert_eq!(p.applied(), [id(1), id(2)]);
}

#[test]
fn sql_output_piped_into_sqlite3_matches_a_real_upgrade() {
    if !crate::common::sqlite3_or_skip("sql_output_piped_into_sqlite3_matches_a_real_upgrade") {
        return;
    }
    let p = TestProject::microblog();
    chain(&p, 3);
    // chain() starts at base too: give the project one line by merging.
    p.run(&["merge", "-m", "join", "--rev-id", "20261201000000"])
        .ok();
    let sql = p.run(&["upgrade", "--sql"]).ok().stdout;
    p.run(&["upgrade"]).ok();
    let twin = p.path("twin.db");
    let status = std::process::Command::new("sqlite3")
        .arg(&twin)
        .stdin(
            std::fs::File::open({
                let f = p.path("up.sql");
                std::fs::write(&f, &sql).unwrap();
                f
            })
            .unwrap(),
        )
        .status()
        .unwrap();
    assert!(status.success());
    let twin = rusqlite::Connection::open(&twin).unwrap();
    assert_eq!(user_schema(&twin), user_schema(&p.db()));
    assert_eq!(applied(&twin), p.applied());
    assert_eq!(
        twin.query_row("SELECT count(*) FROM ran", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        3
    );
    // And the twin goes back down with downgrade --sql.
    let down = p.run(&["downgrade", "--sql", "head:base"]).ok().stdout;
    drop(twin);
    let mut child = std::process::Command::new("sqlite3")
        .arg(p.path("twin.db"))
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(down.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let twin = rusqlite::Connection::open(p.path("twin.db")).unwrap();
    assert!(user_schema(&twin).is_empty());
    assert!(applied(&twin).is_empty());
}

#[test]
fn sql_output_stops_at_the_first_error() {
    if !crate::common::sqlite3_or_skip("sql_output_stops_at_the_first_error") {
        return;
    }
    let p = TestProject::new();
    p.write_revision(
        &id(1),
        "base",
        "ok",
        "CREATE TABLE a (x);\n",
        "DROP TABLE a;\n",
    );
    p.write_revision(
        &id(2),
        &id(1),
        "bad",
        "CREATE TABLE b (x);\nINSERT INTO nope VALUES (1);\n",
        "DROP TABLE b;\n",
    );
    let sql = p.run(&["upgrade", "--sql"]).ok().stdout;
    std::fs::write(p.path("up.sql"), sql).unwrap();
    let status = std::process::Command::new("sqlite3")
        .arg(p.db_path())
        .stdin(std::fs::File::open(p.path("up.sql")).unwrap())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success());
    assert_eq!(p.applied(), [id(1)]);
    assert_eq!(
        p.query_i64("SELECT count(*) FROM sqlite_schema WHERE name = 'b'"),
        0
    );
}

#[test]
fn looking_never_writes() {
    let p = TestProject::microblog();
    // No database yet: looking must not create one.
    for args in [
        &["history"][..],
        &["current"],
        &["heads"],
        &["show"],
        &["branches"],
        &["upgrade", "--sql"],
    ] {
        p.run(args).ok();
        assert!(!p.db_path().exists(), "{args:?} created the database");
    }
    p.run(&["upgrade", "+1"]).ok();
    let before = p.db_bytes();
    for args in [
        &["history"][..],
        &["history", "-v"],
        &["current", "-v"],
        &["heads"],
        &["show"],
        &["branches"],
        &["upgrade", "--dry-run"],
        &["downgrade", "--dry-run"],
        &["upgrade", "--sql"],
    ] {
        p.run(args).ok();
        assert_eq!(p.db_bytes(), before, "{args:?} changed the database");
    }
    let dry = p.run(&["upgrade", "--dry-run"]).ok();
    assert!(dry.stderr.contains("rolled back"), "{}", dry.stderr);
}

#[test]
fn single_transaction_is_all_or_nothing() {
    let p = TestProject::new();
    chain(&p, 5);
    p.write_revision(
        &id(6),
        &id(5),
        "bad",
        "INSERT INTO nope VALUES (1);\n",
        "SELECT 1;\n",
    );
    let before = p.db_bytes();
    p.run(&["upgrade", "--single-transaction"]).fails(1);
    assert_eq!(p.db_bytes(), before);
    p.run(&["upgrade", &id(5), "--single-transaction"]).ok();
    assert_eq!(p.applied().len(), 6);
    assert_eq!(p.query_i64("SELECT count(*) FROM ran"), 5);
}

#[test]
fn lock_timeout_is_honoured() {
    let p = TestProject::microblog();
    p.run(&["upgrade", "+1"]).ok();
    let holder = p.db();
    holder
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO user (username, email) VALUES ('x', 'y');")
        .unwrap();
    let started = std::time::Instant::now();
    let run = p.run(&["upgrade", "--lock-timeout", "1"]).fails(1);
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(run.error().contains("locked"), "{}", run.stderr);
    assert!(run.stderr.contains("--lock-timeout"), "{}", run.stderr);
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    p.run(&["upgrade"]).ok();
}

#[test]
fn backup_is_a_consistent_copy_with_the_same_mode() {
    use std::os::unix::fs::PermissionsExt;
    let p = TestProject::microblog();
    p.run(&["upgrade", "+1"]).ok();
    p.db()
        .execute(
            "INSERT INTO user (username, email) VALUES ('john', 'j@example.com')",
            [],
        )
        .unwrap();
    std::fs::set_permissions(p.db_path(), std::fs::Permissions::from_mode(0o640)).unwrap();
    let run = p.run(&["upgrade", "--backup"]).ok();
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("Backup"))
        .expect("backup path printed");
    let name = line.rsplit(' ').next().unwrap();
    let backup = p.path(name);
    assert!(backup.is_file(), "{line}");
    assert_eq!(
        std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let copy = rusqlite::Connection::open(&backup).unwrap();
    assert_eq!(applied(&copy), ["20261126110405"]);
    let users: i64 = copy
        .query_row("SELECT count(*) FROM user", [], |r| r.get(0))
        .unwrap();
    assert_eq!(users, 1);
}

#[test]
fn scripts_outside_a_transaction() {
    let p = TestProject::new();
    p.write_revision(
        &id(1),
        "base",
        "table",
        "CREATE TABLE a (x);\n",
        "DROP TABLE a;\n",
    );
    p.write_revision(&id(2), &id(1), "vacuum", "VACUUM;\n", "SELECT 1;\n");
    let run = p.run(&["upgrade"]).fails(1);
    assert!(
        run.error().contains("VACUUM") || run.error().contains("transaction"),
        "{}",
        run.stderr
    );
    let path = p.up_file(&id(2));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("\n\n", "\n-- strata:transaction off\n\n", 1),
    )
    .unwrap();
    p.run(&["upgrade"]).ok();
    assert_eq!(p.applied().len(), 2);
    p.run(&["upgrade", "--single-transaction"]).ok();
    p.run(&["downgrade", "base"]).ok();
    p.run(&["upgrade", "--single-transaction"]).fails(1);
}

#[test]
fn crlf_checkout_is_not_an_edit() {
    let p = TestProject::microblog();
    p.run(&["upgrade"]).ok();
    for entry in std::fs::read_dir(p.path("migrations")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace('\n', "\r\n")).unwrap();
    }
    p.run(&["downgrade", "base"]).ok();
    p.run(&["upgrade"]).ok();
}
