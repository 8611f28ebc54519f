//! What real applications' schemas broke (issue 9), each as the minimal
//! session that showed it: keyword names, column order on the way back, a
//! down that cannot run once rows exist, unique indexes over rows, virtual
//! tables, application functions, and the smaller findings.

use crate::common::{os, run_in, TestProject};

/// A project whose schema.sql is `schema`, with the database built by a
/// first revision of it.
fn project_at(schema: &str) -> TestProject {
    let p = TestProject::new();
    std::fs::write(p.path("schema.sql"), schema).unwrap();
    p.run(&["migrate", "-m", "first"]).ok();
    p.run(&["upgrade"]).ok();
    p
}

fn columns(p: &TestProject, table: &str) -> Vec<String> {
    let conn = p.db();
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
        .unwrap();
    stmt.query_map([table], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[allow(dead_code)]
fn table_names(p: &TestProject) -> Vec<String> {
    let conn = p.db();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'strata%' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// 9.1: `groups`, `key`, `left`, `action` keep their spelling through
/// dump, init --from-db and a database built from what it wrote.
#[test]
fn keyword_names_keep_their_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE groups(id INTEGER PRIMARY KEY, key TEXT NOT NULL, left INT, action TEXT, UNIQUE(key));
         INSERT INTO groups VALUES (1, 'k', 2, 'a');",
    )
    .unwrap();
    drop(conn);
    let dump = run_in(dir.path(), &os(&["-d", "app.db", "dump"]))
        .ok()
        .stdout;
    assert!(dump.contains("CREATE TABLE \"groups\""), "{dump}");
    assert!(dump.contains("\"key\" TEXT NOT NULL"), "{dump}");
    assert!(!dump.contains("GROUPS") && !dump.contains("LEFT"), "{dump}");

    run_in(dir.path(), &os(&["-d", "app.db", "init", "--from-db"])).ok();
    let schema = std::fs::read_to_string(dir.path().join("schema.sql")).unwrap();
    assert!(!schema.contains("GROUPS"), "{schema}");
    // A database built from the written schema.sql names things exactly as
    // the original did, compared case-sensitively.
    run_in(dir.path(), &os(&["-d", "fresh.db", "upgrade"])).ok();
    let fresh = rusqlite::Connection::open(dir.path().join("fresh.db")).unwrap();
    let names: Vec<String> = fresh
        .prepare("SELECT t.name || '.' || p.name FROM sqlite_schema AS t, pragma_table_info(t.name) AS p WHERE t.name = 'groups' ORDER BY p.cid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        names,
        ["groups.id", "groups.key", "groups.left", "groups.action"]
    );
}

/// 9.2: a dropped column that was not last comes back in its place, so
/// the old application's positional INSERT fills the right columns.
#[test]
fn downgrade_restores_column_order() {
    let p = project_at("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT DEFAULT '', b TEXT);\n");
    p.db()
        .execute_batch("INSERT INTO t VALUES (1, 'for-a', 'for-b')")
        .unwrap();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT);\n",
    )
    .unwrap();
    p.run(&["migrate", "-m", "drop a"]).ok();
    p.run(&["upgrade"]).ok();
    assert_eq!(columns(&p, "t"), ["id", "b"]);
    p.run(&["downgrade"]).ok();
    assert_eq!(columns(&p, "t"), ["id", "a", "b"]);
    let conn = p.db();
    conn.execute_batch("INSERT INTO t VALUES (2, 'for-a', 'for-b')")
        .unwrap();
    let b: String = conn
        .query_row("SELECT b FROM t WHERE id = 2", [], |r| r.get(0))
        .unwrap();
    assert_eq!(b, "for-b");
    let kept: String = conn
        .query_row("SELECT b FROM t WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, "for-b");
    drop(conn);
    p.run(&["verify"]).ok();
}

/// 9.2: a column schema.sql adds in the middle is appended (ALTER TABLE),
/// and `diff --column-order` shows it.
#[test]
fn a_column_added_in_the_middle_is_appended_and_diff_can_show_it() {
    let p = project_at("CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT);\n");
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);\n",
    )
    .unwrap();
    p.run(&["migrate", "-m", "add a"]).ok();
    p.run(&["upgrade"]).ok();
    assert_eq!(columns(&p, "t"), ["id", "b", "a"]);
    p.run(&["diff"]).ok();
    let run = p.run(&["diff", "--column-order"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("column order of 't' is (id, b, a), not (id, a, b)"),
        "{}",
        run.stderr
    );
    p.run(&["downgrade"]).ok();
    assert_eq!(columns(&p, "t"), ["id", "b"]);
}

/// 9.2: verify compares column order: a hand-written down that appends a
/// column that was in the middle fails.
#[test]
fn verify_compares_column_order() {
    let p = TestProject::new();
    p.write_revision(
        "1",
        "base",
        "t",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);",
        "DROP TABLE t;",
    );
    p.write_revision(
        "2",
        "1",
        "drop a",
        "ALTER TABLE t DROP COLUMN a;",
        "ALTER TABLE t ADD COLUMN a TEXT;",
    );
    let run = p.run(&["verify"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("column order of 't' is (id, b, a), not (id, a, b)"),
        "{}",
        run.stdout
    );
}

/// 9.3: dropping a NOT NULL column with no default warns that the down
/// cannot run on rows, `verify` fails on it, and `--fill` (the hint,
/// followed as written) makes it reversible.
#[test]
fn a_down_that_cannot_run_on_rows_is_found_and_fixable() {
    let p = project_at("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b TEXT);\n");
    p.db()
        .execute_batch("INSERT INTO t VALUES (1, 'x', 'y')")
        .unwrap();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT);\n",
    )
    .unwrap();
    let run = p.run(&["migrate", "-m", "drop a"]).ok();
    assert!(
        run.stderr
            .contains("warning: the downgrade re-adds NOT NULL column 't.a' with no default"),
        "{}",
        run.stderr
    );
    let hint = run
        .stderr
        .lines()
        .find(|l| l.starts_with("hint: to make it reversible"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let verify = p.run(&["verify"]);
    assert_eq!(verify.code, 1, "{}", verify.stdout);
    assert!(
        verify.stdout.contains("down fails on tables holding rows"),
        "{}",
        verify.stdout
    );

    // The hint's command, with VALUE filled in as it asks.
    let command = hint.split('`').nth(1).unwrap().replace("VALUE", "''");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(command.replace("strata ", &format!("{} ", env!("CARGO_BIN_EXE_strata"))))
        .current_dir(p.dir.path())
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    p.run(&["verify"]).ok();
    p.run(&["upgrade"]).ok();
    p.run(&["downgrade"]).ok();
    assert_eq!(columns(&p, "t"), ["id", "a", "b"]);
    let a: String = p
        .db()
        .query_row("SELECT a FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(a, "");
}

/// 9.3: `--fill` also adds a NOT NULL column with no default in the up,
/// from the other columns, and the refusal's hint names it.
#[test]
fn fill_adds_a_not_null_column_to_a_table_with_rows() {
    let p = project_at("CREATE TABLE t (id INTEGER PRIMARY KEY, first TEXT, last TEXT);\n");
    p.db()
        .execute_batch("INSERT INTO t VALUES (1, 'Ada', 'Lovelace')")
        .unwrap();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, first TEXT, last TEXT, full TEXT NOT NULL);\n",
    )
    .unwrap();
    let refused = p.run(&["migrate", "-m", "full name"]).fails(1);
    assert!(
        refused.stderr.contains("--fill \"t.full=VALUE\""),
        "{}",
        refused.stderr
    );
    p.run(&[
        "migrate",
        "-m",
        "full name",
        "--fill",
        "t.full=first || ' ' || last",
    ])
    .ok();
    p.run(&["upgrade"]).ok();
    let full: String = p
        .db()
        .query_row("SELECT full FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(full, "Ada Lovelace");
    let bad = p.run(&["migrate", "-m", "x", "--fill", "t.nothing=1"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

/// 9.3: the precheck's hint during a downgrade says to run the downgrade
/// again, not the upgrade.
#[test]
fn precheck_hint_names_the_direction() {
    let p = TestProject::new();
    p.write_revision(
        "1",
        "base",
        "t",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);",
        "DROP TABLE t;",
    );
    p.write_revision(
        "2",
        "1",
        "unique a",
        "SELECT 1;",
        "CREATE TEMP TABLE IF NOT EXISTS strata_precheck (violations INTEGER, rule TEXT);\nCREATE TEMP TRIGGER IF NOT EXISTS strata_precheck AFTER INSERT ON strata_precheck WHEN NEW.violations > 0 BEGIN SELECT RAISE(ABORT, 'precheck failed'); END;\nINSERT INTO temp.strata_precheck VALUES (1, 'x');",
    );
    p.run(&["upgrade"]).ok();
    let run = p.run(&["downgrade"]).fails(1);
    assert!(
        run.stderr.contains("then run the downgrade again"),
        "{}",
        run.stderr
    );
    assert_eq!(p.applied(), ["1", "2"]);
}

/// 9.4: a unique index added over rows gets the same warning and counted
/// precheck as a UNIQUE constraint; NULLs and a partial index's other rows
/// do not count.
#[test]
fn a_unique_index_over_rows_is_prechecked() {
    let p = project_at("CREATE TABLE t (id INTEGER PRIMARY KEY, e TEXT, f TEXT);\n");
    p.db()
        .execute_batch(
            "INSERT INTO t (e, f) VALUES ('A', 'x'), ('a', 'x'), (NULL, 'x'), (NULL, 'x'), ('b', ''), ('b', '');",
        )
        .unwrap();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, e TEXT, f TEXT);\nCREATE UNIQUE INDEX ix ON t (e COLLATE NOCASE DESC, f) WHERE f <> '';\n",
    )
    .unwrap();
    let run = p.run(&["migrate", "-m", "unique e"]).ok();
    assert!(
        run.stderr
            .contains("Data-dependent: added unique index 'ix' on 't'"),
        "{}",
        run.stderr
    );
    let before = p.db_bytes();
    let run = p.run(&["upgrade"]).fails(1);
    assert!(
        run.error()
            .contains("precheck failed: 1 row(s) of 't' repeat a value of (e COLLATE NOCASE, f)"),
        "{}",
        run.stderr
    );
    assert_eq!(p.db_bytes(), before);
    p.db().execute_batch("DELETE FROM t WHERE e = 'a'").unwrap();
    p.run(&["upgrade"]).ok();
}

/// 9.7: a primary-key change on a WITHOUT ROWID table is one change with
/// one precheck.
#[test]
fn without_rowid_primary_key_change_is_reported_once() {
    let p = project_at(
        "CREATE TABLE t (a INT NOT NULL, b INT NOT NULL, c TEXT, PRIMARY KEY (a)) WITHOUT ROWID;\n",
    );
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE t (a INT NOT NULL, b INT NOT NULL, c TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;\n",
    )
    .unwrap();
    let run = p.run(&["migrate", "-m", "pk"]).ok();
    assert_eq!(run.stderr.matches("Detected").count(), 1, "{}", run.stderr);
    let up = std::fs::read_dir(p.path("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.to_string_lossy().ends_with("_pk.up.sql"))
        .unwrap();
    let text = std::fs::read_to_string(up).unwrap();
    assert_eq!(
        text.matches("INSERT INTO temp.strata_precheck").count(),
        1,
        "{text}"
    );
}

/// 9.7: one shared column of six is not a table rename.
#[test]
fn a_table_sharing_one_column_of_six_is_not_a_rename() {
    let p = project_at(
        "CREATE TABLE old (id INTEGER PRIMARY KEY, a TEXT, b TEXT, c TEXT, d TEXT, e TEXT);\n",
    );
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE new (id INTEGER PRIMARY KEY, z TEXT);\n",
    )
    .unwrap();
    let run = p.run(&["migrate", "-m", "swap"]).ok();
    assert!(!run.stderr.contains("rename"), "{}", run.stderr);
}

/// 9.7: sqlite_stat1 in schema.sql (ANALYZE output) is SQLite's, not an
/// error; `dump` outside a project needs only the database.
#[test]
fn analyze_output_in_schema_sql_is_ignored() {
    let p = project_at(
        "CREATE TABLE t (id INTEGER PRIMARY KEY);\nCREATE TABLE sqlite_stat1(tbl,idx,stat);\n",
    );
    p.run(&["check"]).ok();
}

/// 9.6: a schema that uses the application's own functions and collation
/// is adopted by init --from-db, which declares them in strata.toml, and
/// check and migrate accept the schema.sql it wrote.
#[test]
fn application_functions_and_collations_are_declared_and_stood_in_for() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("app.db")).unwrap();
    conn.create_collation("unicase", |a: &str, b: &str| {
        a.to_lowercase().cmp(&b.to_lowercase())
    })
    .unwrap();
    conn.create_scalar_function(
        "title_sort",
        1,
        rusqlite::functions::FunctionFlags::SQLITE_UTF8,
        |ctx| Ok(ctx.get::<String>(0)?.to_lowercase()),
    )
    .unwrap();
    conn.execute_batch(
        "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT COLLATE unicase, tag TEXT);
         CREATE INDEX books_title ON books (title COLLATE unicase);
         CREATE VIEW shelf AS SELECT title_sort(title) AS sort, sortconcat(tag) OVER (ORDER BY id) AS tags FROM books;
         CREATE TRIGGER books_ins AFTER INSERT ON books BEGIN UPDATE books SET tag = title_sort(NEW.title) WHERE id = NEW.id; END;
         INSERT INTO books (title) VALUES ('b'), ('A');",
    )
    .unwrap();
    drop(conn);
    run_in(dir.path(), &os(&["-d", "app.db", "init", "--from-db"])).ok();
    let config = std::fs::read_to_string(dir.path().join("strata.toml")).unwrap();
    assert!(config.contains("collations = [\"unicase\"]"), "{config}");
    assert!(
        config.contains("title_sort = { args = -1, kind = \"scalar\" }"),
        "{config}"
    );
    assert!(
        config.contains("sortconcat = { args = -1, kind = \"aggregate\" }"),
        "{config}"
    );
    run_in(dir.path(), &os(&["check"])).ok();
    run_in(dir.path(), &os(&["verify"])).ok();
    let schema = std::fs::read_to_string(dir.path().join("schema.sql")).unwrap();
    std::fs::write(
        dir.path().join("schema.sql"),
        format!("{schema}\nCREATE VIEW titles AS SELECT title_sort(title) FROM books;\n"),
    )
    .unwrap();
    run_in(dir.path(), &os(&["migrate", "-m", "titles"])).ok();

    // Without the declarations, check says which function is missing.
    std::fs::write(dir.path().join("strata.toml"), "database = \"app.db\"\n").unwrap();
    let run = run_in(dir.path(), &os(&["check"]));
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("no such"), "{}", run.stderr);
}

const FTS_SCHEMA: &str = "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT, body TEXT);
CREATE VIRTUAL TABLE books_fts USING fts5(title, body, content='books', content_rowid='id');
CREATE TRIGGER books_ai AFTER INSERT ON books BEGIN
  INSERT INTO books_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER books_ad AFTER DELETE ON books BEGIN
  INSERT INTO books_fts (books_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE VIRTUAL TABLE notes USING fts4(body);
CREATE VIRTUAL TABLE boxes USING rtree(id, minx, maxx);
";

fn query_all(p: &TestProject, sql: &str) -> Vec<String> {
    let conn = p.db();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, rusqlite::types::Value>(0))
        .unwrap()
        .map(|v| format!("{:?}", v.unwrap()))
        .collect()
}

/// 9.5: FTS5 with external content and its triggers, FTS4 and R*Tree are
/// schema objects: created, changed (re-created with their content),
/// dropped; shadow tables never appear in a diff or dump.
#[test]
fn virtual_tables_are_created_changed_and_keep_their_content() {
    let p = project_at(FTS_SCHEMA);
    p.db()
        .execute_batch(
            "INSERT INTO books (title, body) VALUES ('Running', 'runs fast'), ('Walking', 'walks');
             INSERT INTO notes (rowid, body) VALUES (7, 'running notes');
             INSERT INTO boxes VALUES (1, 0, 5);",
        )
        .unwrap();
    let dump = p.run(&["dump"]).ok().stdout;
    assert!(
        !dump.contains("books_fts_data")
            && !dump.contains("notes_segdir")
            && !dump.contains("boxes_node"),
        "{dump}"
    );
    assert!(dump.contains("CREATE VIRTUAL TABLE books_fts USING fts5(title, body, content='books', content_rowid='id')"), "{dump}");
    p.run(&["diff"]).ok();

    let changed = FTS_SCHEMA
        .replace(
            "content_rowid='id')",
            "content_rowid='id', tokenize='porter')",
        )
        .replace("fts4(body)", "fts4(body, tokenize=porter)")
        .replace("rtree(id, minx, maxx)", "rtree(id, minx, maxx, miny, maxy)");
    std::fs::write(p.path("schema.sql"), &changed).unwrap();
    let run = p.run(&["migrate", "-m", "porter"]).ok();
    assert!(
        run.stderr
            .contains("changed virtual table 'books_fts' (re-created, its content kept)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("destructive"), "{}", run.stderr);
    p.run(&["upgrade"]).ok();
    // Porter stemming now finds "runs" for "run": the index was rebuilt
    // from books; the FTS4 and R*Tree rows were copied.
    assert_eq!(
        query_all(
            &p,
            "SELECT rowid FROM books_fts WHERE books_fts MATCH 'run'"
        ),
        ["Integer(1)"]
    );
    assert_eq!(
        query_all(&p, "SELECT rowid FROM notes WHERE notes MATCH 'run'"),
        ["Integer(7)"]
    );
    assert_eq!(query_all(&p, "SELECT maxx FROM boxes"), ["Real(5.0)"]);
    // The triggers that feed the index still do.
    p.db()
        .execute_batch("INSERT INTO books (title, body) VALUES ('Jumping', 'jumps')")
        .unwrap();
    assert_eq!(
        query_all(
            &p,
            "SELECT rowid FROM books_fts WHERE books_fts MATCH 'jump'"
        ),
        ["Integer(3)"]
    );
    p.run(&["diff"]).ok();
    p.run(&["check"]).ok();
    p.run(&["verify"]).ok();

    p.run(&["downgrade"]).ok();
    assert_eq!(query_all(&p, "SELECT rowid FROM notes"), ["Integer(7)"]);
    assert_eq!(
        query_all(
            &p,
            "SELECT rowid FROM books_fts WHERE books_fts MATCH 'jumping'"
        ),
        ["Integer(3)"]
    );
    p.run(&["diff", "--against", "head"]).ok();

    // Dropping a virtual table with content of its own is destructive.
    std::fs::write(
        p.path("schema.sql"),
        FTS_SCHEMA.replace("CREATE VIRTUAL TABLE notes USING fts4(body);\n", ""),
    )
    .unwrap();
    p.run(&["upgrade"]).ok();
    let run = p.run(&["migrate", "-m", "no notes"]).ok();
    assert!(
        run.stderr
            .contains("destructive: dropping virtual table 'notes'"),
        "{}",
        run.stderr
    );
}

/// 9.5: another module is a clear error naming it; init --from-db adopts
/// an FTS database without its shadow tables.
#[test]
fn virtual_table_modules_strata_does_not_manage_are_named() {
    let p = TestProject::new();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE VIRTUAL TABLE st USING dbstat(main);\n",
    )
    .unwrap();
    let run = p.run(&["migrate", "-m", "x"]).fails(1);
    assert!(
        run.error()
            .contains("uses module 'dbstat', which strata does not manage"),
        "{}",
        run.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    rusqlite::Connection::open(dir.path().join("app.db"))
        .unwrap()
        .execute_batch(&format!(
            "{FTS_SCHEMA}\nINSERT INTO books (title) VALUES ('x');"
        ))
        .unwrap();
    run_in(dir.path(), &os(&["-d", "app.db", "init", "--from-db"])).ok();
    let schema = std::fs::read_to_string(dir.path().join("schema.sql")).unwrap();
    assert!(
        !schema.contains("_data") && !schema.contains("_segments"),
        "{schema}"
    );
    run_in(dir.path(), &os(&["check"])).ok();
    run_in(dir.path(), &os(&["diff"])).ok();
}
