//! `migrate`, `check`, `diff`, `dump`, `verify` and `init --from-db` as a
//! user meets them: refusals, hints, exit codes, and read-only promises.

use crate::common::{os, run_in, TestProject};

fn project_with(schema: &str) -> TestProject {
    let p = TestProject::new();
    std::fs::write(p.path("schema.sql"), schema).unwrap();
    p
}

fn revision_files(p: &TestProject) -> usize {
    std::fs::read_dir(p.path("migrations")).unwrap().count()
}

const USERS: &str = "CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n";

#[test]
fn no_changes_writes_nothing() {
    let p = project_with(USERS);
    p.run(&["migrate", "-m", "users"]).ok();
    p.run(&["upgrade"]).ok();
    let before = revision_files(&p);
    let run = p.run(&["migrate", "-m", "nothing"]).ok();
    assert!(run.stderr.contains("No changes in schema detected."));
    assert_eq!(revision_files(&p), before);
    // --allow-empty writes one anyway.
    p.run(&["migrate", "-m", "empty", "--allow-empty"]).ok();
    assert_eq!(revision_files(&p), before + 2);
    p.run(&["upgrade"]).ok();
    p.run(&["verify"]).ok();
}

#[test]
fn refuses_when_the_database_is_not_at_head() {
    let p = project_with(USERS);
    p.run(&["migrate", "-m", "users"]).ok();
    let before = revision_files(&p);
    let run = p.run(&["migrate", "-m", "more"]).fails(1);
    assert!(
        run.error().contains("Target database is not up to date"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: run `strata upgrade` first"));
    assert_eq!(revision_files(&p), before);
    assert!(
        !p.db_path().exists(),
        "migrate must not create the database"
    );
}

#[test]
fn not_null_without_default_is_refused_with_the_ways_out() {
    let p = project_with(USERS);
    p.run(&["migrate", "-m", "users"]).ok();
    p.run(&["upgrade"]).ok();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL);\n",
    )
    .unwrap();
    let bytes = p.db_bytes();
    let run = p.run(&["migrate", "-m", "email"]).fails(1);
    assert!(run.error().contains("'user.email'"), "{}", run.stderr);
    assert!(run.stderr.contains("DEFAULT") && run.stderr.contains("nullable"));
    assert_eq!(p.db_bytes(), bytes);
}

#[test]
fn a_drop_and_add_that_looks_like_a_rename_gets_a_hint() {
    let p = project_with("CREATE TABLE user (id INTEGER PRIMARY KEY, about TEXT);\n");
    p.run(&["migrate", "-m", "users"]).ok();
    p.run(&["upgrade"]).ok();
    p.db()
        .execute("INSERT INTO user VALUES (1, 'kept')", [])
        .unwrap();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE user (id INTEGER PRIMARY KEY, bio TEXT);\n",
    )
    .unwrap();
    // Not a terminal: no question, and nothing written (issue 10.1): a
    // likely rename is never a silent drop. The hint gives both commands.
    let run = p.run(&["migrate", "-m", "bio"]).fails(1);
    assert!(
        std::fs::read_dir(p.path("migrations")).unwrap().count() == 2,
        "only the first revision's files"
    );
    let hint = run
        .stderr
        .lines()
        .find(|l| l.starts_with("hint:"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let commands: Vec<&str> = hint.split('`').skip(1).step_by(2).collect();
    assert_eq!(
        commands,
        [
            "strata migrate -m bio --rename user.about=bio",
            "strata migrate -m bio --drop user.about"
        ],
        "{hint}"
    );
    // Each, followed as written, does what it says: the drop (tried on a
    // copy of the project's state and thrown away), then the rename.
    let words = |c: &str| c.split(' ').skip(1).map(str::to_string).collect::<Vec<_>>();
    let drop = words(commands[1]);
    let drop: Vec<&str> = drop.iter().map(String::as_str).collect();
    let run = p.run(&drop).ok();
    assert!(
        run.stderr.contains("Detected removed column 'user.about'"),
        "{}",
        run.stderr
    );
    for entry in std::fs::read_dir(p.path("migrations")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("_bio.") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let rename = words(commands[0]);
    let rename: Vec<&str> = rename.iter().map(String::as_str).collect();
    p.run(&rename).ok();
    p.run(&["upgrade"]).ok();
    assert_eq!(
        p.db()
            .query_row("SELECT bio FROM user WHERE id = 1", [], |r| r
                .get::<_, String>(0))
            .unwrap(),
        "kept"
    );
}

#[test]
fn bad_renames_are_usage_errors() {
    let p = project_with(USERS);
    p.run(&["migrate", "-m", "users"]).ok();
    p.run(&["upgrade"]).ok();
    let run = p
        .run(&["migrate", "-m", "x", "--rename", "user.nope=new"])
        .fails(2);
    assert!(
        run.error().contains("has no column 'nope'"),
        "{}",
        run.stderr
    );
    let run = p
        .run(&["migrate", "-m", "x", "--rename", "garbage"])
        .fails(2);
    assert!(run.error().contains("TABLE.OLD=NEW"));
    let run = p
        .run(&["migrate", "-m", "x", "--rename-table", "ghost=spirit"])
        .fails(2);
    assert!(run.error().contains("no table 'ghost'"));
}

#[test]
fn schema_errors_name_the_line_and_touch_nothing() {
    let p = project_with(USERS);
    p.run(&["migrate", "-m", "users"]).ok();
    p.run(&["upgrade"]).ok();
    let bytes = p.db_bytes();
    let cases = [
        (
            "CREATE TABLE a (id INTEGER);\n\nCREATE TABLE b (id INTEGER,);\n",
            "schema.sql:3: near \")\": syntax error",
        ),
        (
            "CREATE TABLE a (id INTEGER);\nCREATE VIEW v AS SELECT id FROM missing;\n",
            "schema.sql:2: view v: no such table: main.missing",
        ),
        (
            "CREATE TABLE a (id);\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT NEW.nope;\nEND;\n",
            "schema.sql:2: trigger t: no such column: NEW.nope",
        ),
        ("INSERT INTO user VALUES (1, 'x');\n", "schema.sql:1: only CREATE"),
        (
            "CREATE TABLE a (id);\nCREATE VIRTUAL TABLE f USING dbstat;\n",
            "virtual table 'f' uses module 'dbstat', which strata does not manage",
        ),
        (
            "CREATE TABLE a (id);\n\nATTACH 'other.db' AS other;\n",
            "schema.sql:3: only CREATE",
        ),
        (
            "CREATE TABLE strata_log (x);\n",
            "schema.sql:1: 'strata_log' is a name strata reserves",
        ),
    ];
    for (schema, expected) in cases {
        std::fs::write(p.path("schema.sql"), schema).unwrap();
        let run = p.run(&["migrate", "-m", "bad"]).fails(1);
        assert!(run.error().contains(expected), "{schema}\n{}", run.stderr);
    }
    assert_eq!(p.db_bytes(), bytes);
    std::fs::remove_file(p.path("schema.sql")).unwrap();
    let run = p.run(&["migrate", "-m", "bad"]).fails(1);
    assert!(run.error().contains("schema.sql not found"));
    assert!(run.stderr.contains("strata dump > schema.sql"));
}

#[test]
fn a_failing_precheck_stops_before_anything_changes() {
    let p = project_with("CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT);\n");
    p.run(&["migrate", "-m", "t"]).ok();
    p.run(&["upgrade"]).ok();
    p.db()
        .execute_batch("INSERT INTO t VALUES (1, NULL), (2, 'x'), (3, NULL);")
        .unwrap();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n",
    )
    .unwrap();
    let run = p.run(&["migrate", "-m", "email required"]).ok();
    assert!(run
        .stderr
        .contains("Data-dependent: NOT NULL added on 't.email'"));
    let bytes = p.db_bytes();
    let run = p.run(&["upgrade"]).fails(1);
    assert!(
        run.error()
            .contains("precheck failed: 2 row(s) of 't' hold NULL in 'email'"),
        "{}",
        run.stderr
    );
    assert_eq!(p.db_bytes(), bytes);
    assert_eq!(p.applied().len(), 1);
    // The same precheck through `--sql` and an older sqlite3 shell (the
    // message is a literal any SQLite accepts): it stops, nothing changes.
    if crate::common::sqlite3_or_skip("a_failing_precheck_stops_before_anything_changes") {
        let sql = p.run(&["upgrade", "--sql"]).ok().stdout;
        let out = std::process::Command::new("sqlite3")
            .arg(p.db_path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child.stdin.take().unwrap().write_all(sql.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains("precheck failed"), "{stderr}");
        assert_eq!(p.applied().len(), 1);
        assert_eq!(p.query_i64("SELECT count(*) FROM t WHERE email IS NULL"), 2);
    }
    // Fixed data: the same revision goes through.
    p.db()
        .execute("UPDATE t SET email = 'none' WHERE email IS NULL", [])
        .unwrap();
    p.run(&["upgrade"]).ok();
    assert_eq!(p.query_i64("SELECT count(*) FROM t"), 3);
}

#[test]
fn autoincrement_counter_and_rowids_survive_a_rebuild() {
    let p = project_with("CREATE TABLE e (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT);\n");
    p.run(&["migrate", "-m", "e"]).ok();
    p.run(&["upgrade"]).ok();
    p.db()
        .execute_batch(
            "INSERT INTO e (kind) VALUES ('a'), ('b'), ('c'); DELETE FROM e WHERE id = 3;",
        )
        .unwrap();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE e (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL DEFAULT 'x');\n",
    )
    .unwrap();
    p.run(&["migrate", "-m", "kind required"]).ok();
    p.run(&["upgrade"]).ok();
    assert_eq!(
        p.query_i64("SELECT seq FROM sqlite_sequence WHERE name = 'e'"),
        3
    );
    p.db()
        .execute("INSERT INTO e (kind) VALUES ('d')", [])
        .unwrap();
    assert_eq!(p.query_i64("SELECT max(id) FROM e"), 4);
    p.run(&["downgrade"]).ok();
    assert_eq!(
        p.query_i64("SELECT seq FROM sqlite_sequence WHERE name = 'e'"),
        4
    );
}

#[test]
fn check_diff_dump_and_verify_report_and_never_write() {
    let p = project_with(USERS);
    p.run(&["migrate", "-m", "users"]).ok();
    p.run(&["upgrade"]).ok();
    let bytes = p.db_bytes();
    p.run(&["check"]).ok();
    p.run(&["diff"]).ok();
    p.run(&["diff", "--against", "head"]).ok();
    let dump = p.run(&["dump"]).ok();
    assert_eq!(
        dump.stdout.trim(),
        "CREATE TABLE user (\n  id INTEGER PRIMARY KEY,\n  name TEXT NOT NULL\n);"
    );

    // schema.sql moves on without a revision: check and diff say so.
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);\n",
    )
    .unwrap();
    let run = p.run(&["check"]).fails(1);
    assert!(
        run.error().contains("added column 'user.email'"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("+  email TEXT"), "{}", run.stdout);
    assert!(run.stderr.contains("strata migrate"));
    let run = p.run(&["diff"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("--- database") && run.stdout.contains("+++ schema.sql"));
    let json = p.run(&["diff", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["changes"][0], "added column 'user.email'");

    // Someone changes the database by hand: diff --against head sees it.
    p.db()
        .execute("CREATE INDEX by_hand ON user (name)", [])
        .unwrap();
    let bytes_after_hand = p.db_bytes();
    let run = p.run(&["diff", "--against", "head"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("removed index 'by_hand'"),
        "{}",
        run.stderr
    );
    assert_eq!(p.db_bytes(), bytes_after_hand);
    assert_ne!(bytes, bytes_after_hand);

    // An edited applied revision is a check failure.
    let up = p.up_file("");
    let text = std::fs::read_to_string(&up).unwrap();
    std::fs::write(&up, format!("{text}\n-- edited\n")).unwrap();
    let run = p.run(&["check"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("was modified after revision"),
        "{}",
        run.stderr
    );
}

#[test]
fn verify_catches_a_down_script_that_does_not_undo() {
    let p = TestProject::new();
    p.write_revision(
        "1",
        "base",
        "good",
        "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
        "DROP TABLE a;\n",
    );
    p.write_revision(
        "2",
        "1",
        "leaky",
        "CREATE TABLE b (id INTEGER PRIMARY KEY);\nCREATE INDEX b_id ON b (id);\n",
        "DROP INDEX b_id;\n",
    );
    let run = p.run(&["verify"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains("down does not restore"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("removed table 'b'"), "{}", run.stdout);
    let json = p.run(&["verify", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["revisions"][0]["ok"], true);
    assert!(!p.db_path().exists());
}

#[test]
fn init_from_db_adopts_an_existing_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("legacy.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT);
         CREATE TABLE invoice (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customer (id));
         CREATE INDEX invoice_customer ON invoice (customer_id);
         CREATE VIEW big AS SELECT * FROM invoice;
         INSERT INTO customer VALUES (1, 'a');
         INSERT INTO invoice VALUES (1, 1);",
    )
    .unwrap();
    drop(conn);
    let run = run_in(dir.path(), &os(&["init", "--from-db", "-d", "legacy.db"]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("Stamped the database"),
        "{}",
        run.stderr
    );
    let schema = std::fs::read_to_string(dir.path().join("schema.sql")).unwrap();
    assert!(schema.contains("CREATE TABLE customer"));
    // The database is at the baseline, unchanged, and matches schema.sql.
    for args in [&["current"][..], &["check"], &["diff"], &["verify"]] {
        let run = run_in(dir.path(), &os(args));
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM invoice", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1);
    // And autogenerate continues from there.
    let run = run_in(dir.path(), &os(&["migrate", "-m", "nothing"]));
    assert!(
        run.stderr.contains("No changes in schema detected."),
        "{}",
        run.stderr
    );
    // A second adoption is refused.
    std::fs::remove_file(dir.path().join("strata.toml")).unwrap();
    let run = run_in(dir.path(), &os(&["init", "--from-db", "-d", "legacy.db"]));
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn a_new_unique_column_with_a_shared_default_is_prechecked() {
    let p = project_with("CREATE TABLE t (id INTEGER PRIMARY KEY);\n");
    p.run(&["migrate", "-m", "t"]).ok();
    p.run(&["upgrade"]).ok();
    p.db()
        .execute_batch("INSERT INTO t VALUES (1), (2), (3);")
        .unwrap();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT UNIQUE DEFAULT 'x');\n",
    )
    .unwrap();
    p.run(&["migrate", "-m", "code"]).ok();
    let bytes = p.db_bytes();
    let run = p.run(&["upgrade"]).fails(1);
    assert!(
        run.error().contains(
            "precheck failed: 2 row(s) of 't' beyond the first would all get the default of new UNIQUE column 'code'"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(p.db_bytes(), bytes);
}

/// The question `migrate` asks on a terminal, answered through the same
/// callback the binary's prompt uses.
#[test]
fn answering_yes_to_the_rename_question_plans_a_rename() {
    let p = project_with("CREATE TABLE person (id INTEGER PRIMARY KEY, about TEXT);\n");
    p.run(&["migrate", "-m", "people"]).ok();
    p.run(&["upgrade"]).ok();
    p.db()
        .execute("INSERT INTO person VALUES (7, 'kept')", [])
        .unwrap();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE member (id INTEGER PRIMARY KEY, bio TEXT);\n",
    )
    .unwrap();
    let project = strata::config::Project::discover(&strata::config::Locator {
        dir: Some(p.dir.path().to_path_buf()),
        config: None,
        database: None,
        database_url: None,
    })
    .unwrap();
    let mut questions = Vec::new();
    let request = strata::command::MigrateRequest {
        message: "members".into(),
        ..Default::default()
    };
    let report = strata::command::migrate(&project, &request, &mut |s| {
        questions.push(s.question());
        Some(true)
    })
    .unwrap();
    assert_eq!(
        questions,
        [
            "Table 'person' was removed and 'member' added with similar columns. Is it a rename?",
            "Column 'member.about' was removed and 'member.bio' added. Is it a rename?",
        ]
    );
    assert_eq!(
        report.detected,
        [
            "renamed table 'person' to 'member'",
            "renamed column 'member.about' to 'bio'"
        ]
    );
    p.run(&["upgrade"]).ok();
    assert_eq!(
        p.db()
            .query_row("SELECT bio FROM member WHERE id = 7", [], |r| r
                .get::<_, String>(0))
            .unwrap(),
        "kept"
    );
}
