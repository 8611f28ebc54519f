//! Hostile input: odd and malicious schema.sql files, revision files,
//! messages, revision ids and identifiers. Each is either handled correctly
//! or refused with one clear `error:` line and the database untouched; none
//! panics, and generated SQL stays inert.

use crate::common::{integrity_ok, repeats, TestProject};

/// A project whose database is at head with the `user` table and rows.
fn at_head() -> (TestProject, Vec<u8>) {
    let p = TestProject::new();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT);\n",
    )
    .unwrap();
    p.run(&["migrate", "-m", "users", "--rev-id", "1"]).ok();
    p.run(&["upgrade"]).ok();
    p.db()
        .execute("INSERT INTO user VALUES (1, 'kept')", [])
        .unwrap();
    let bytes = p.db_bytes();
    (p, bytes)
}

fn revision_count(p: &TestProject) -> usize {
    std::fs::read_dir(p.path("migrations")).unwrap().count()
}

#[test]
fn hostile_schema_files_are_refused_with_a_line() {
    let (p, bytes) = at_head();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"".to_vec(), "declares nothing"),
        (b"-- just a comment\n\n".to_vec(), "declares nothing"),
        (vec![0xff, 0xfe, 0x00, 0x41, 0x80], "is not UTF-8"),
        (
            b"CREATE TABLE a (x);\0CREATE TABLE b (y);\n".to_vec(),
            "schema.sql:1:",
        ),
        (
            b"ATTACH 'x.db' AS x;\n".to_vec(),
            "schema.sql:1: only CREATE",
        ),
        (
            b"PRAGMA journal_mode = WAL;\n".to_vec(),
            "schema.sql:1: only CREATE",
        ),
        (
            b"CREATE TABLE a (x);\nDROP TABLE user;\n".to_vec(),
            "schema.sql:2: only CREATE",
        ),
        (
            b"CREATE TABLE a (x);\nDELETE FROM user;\n".to_vec(),
            "schema.sql:2: only CREATE",
        ),
        (b"CREATE TABLE strata_history (x);\n".to_vec(), "reserves"),
        (b"CREATE TABLE STRATA_META (x);\n".to_vec(), "reserves"),
        (b"CREATE TABLE sqlite_x (x);\n".to_vec(), "schema.sql:1:"),
        (
            b"CREATE TEMP TABLE t (x);\n".to_vec(),
            "schema.sql:1: temporary",
        ),
        (b"CREATE TABLE other.t (x);\n".to_vec(), "schema.sql:1:"),
        (
            b"CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT\n".to_vec(),
            "schema.sql:1:",
        ),
        // Found by `cargo fuzz run create_text`: a lone quote panicked.
        (b"CREATE TABLE \"".to_vec(), "schema.sql:1:"),
        (b"CREATE TABLE [".to_vec(), "schema.sql:1:"),
    ];
    for (content, needle) in &cases {
        std::fs::write(p.path("schema.sql"), content).unwrap();
        let run = p.run(&["migrate", "-m", "hostile"]).fails(1);
        assert!(
            run.error().contains(needle),
            "{:?}: {}",
            String::from_utf8_lossy(content),
            run.stderr
        );
        assert_eq!(p.db_bytes(), bytes);
        assert_eq!(revision_count(&p), 2);
    }
    eprintln!("hostile schema.sql files refused: {}", cases.len());
}

#[test]
fn a_50_mb_schema_and_5000_tables_work() {
    let (p, _) = at_head();
    // 50 MB: the schema plus a very long comment and a very long CHECK.
    let mut big = String::from("CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT);\n-- ");
    big.push_str(&"x".repeat(45 << 20));
    big.push_str("\nCREATE TABLE wide (v TEXT CHECK (v NOT IN (");
    let list: Vec<String> = (0..600_000).map(|n| format!("'{n}'")).collect();
    big.push_str(&list.join(","));
    big.push_str(")));\n");
    assert!(big.len() >= 50 << 20);
    std::fs::write(p.path("schema.sql"), &big).unwrap();
    let run = p.run(&["migrate", "-m", "wide", "--rev-id", "2"]).ok();
    assert!(
        run.stderr.contains("Detected added table 'wide'"),
        "{}",
        run.stderr
    );
    p.run(&["upgrade"]).ok();
    p.run(&["diff"]).ok();
    p.run(&["downgrade"]).ok();
    std::fs::remove_file(p.up_file("2")).unwrap();
    std::fs::remove_file(p.down_file("2")).unwrap();

    // 5,000 tables.
    let mut many = String::from("CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT);\n");
    for n in 0..5000 {
        many.push_str(&format!(
            "CREATE TABLE t{n} (id INTEGER PRIMARY KEY, v TEXT);\n"
        ));
    }
    std::fs::write(p.path("schema.sql"), &many).unwrap();
    p.run(&["migrate", "-m", "many", "--rev-id", "3"]).ok();
    p.run(&["upgrade"]).ok();
    let again = p.run(&["migrate", "-m", "again"]).ok();
    assert!(again.stderr.contains("No changes in schema detected."));
    assert_eq!(p.query_i64("SELECT count(*) FROM user"), 1);
}

#[test]
fn hostile_revision_files() {
    let (p, _) = at_head();
    let up = std::fs::read_to_string(p.up_file("1")).unwrap();
    // CRLF and a BOM: the same revision, no checksum change.
    let crlf = format!("\u{feff}{}", up.replace('\n', "\r\n"));
    std::fs::write(p.up_file("1"), crlf).unwrap();
    p.run(&["check"]).ok();
    p.run(&["upgrade"]).ok();
    std::fs::write(p.up_file("1"), &up).unwrap();
    // Tabs in a header and a body.
    p.write_revision(
        "9",
        "1",
        "tabs",
        "CREATE TABLE\ttabbed (\tv TEXT\t);\n",
        "DROP TABLE tabbed;\n",
    );
    let path = p.up_file("9");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("-- strata:message  tabs", "-- strata:message\ttabs");
    std::fs::write(&path, text).unwrap();
    p.run(&["upgrade"]).ok();
    assert!(p.run(&["history"]).ok().stdout.contains("tabs"));
    p.run(&["downgrade"]).ok();
    std::fs::remove_file(p.up_file("9")).unwrap();
    std::fs::remove_file(p.down_file("9")).unwrap();
    let bytes = p.db_bytes();

    // A NUL in the header, a lying header, a self-parent: refused.
    let broken = [
        (
            up.replace("-- strata:message  users", "-- strata:message  us\0ers"),
            "control character U+0000",
        ),
        (
            up.replace("-- strata:revision 1", "-- strata:revision 2"),
            "1",
        ),
        (
            up.replace("-- strata:parent   base", "-- strata:parent   1"),
            "1",
        ),
    ];
    for (text, needle) in &broken {
        std::fs::write(p.up_file("1"), text).unwrap();
        let run = p.run(&["upgrade"]).fails(1);
        assert!(run.error().contains(needle), "{}", run.stderr);
        assert_eq!(p.db_bytes(), bytes);
    }
    std::fs::write(p.up_file("1"), &up).unwrap();

    // A huge body: 10 MB in CI, 100 MB in the soak run.
    let mb = if repeats(0) > 0 { 100 } else { 10 };
    let mut body = String::from("CREATE TABLE blob_log (v TEXT);\n");
    let row = format!("INSERT INTO blob_log VALUES ('{}');\n", "y".repeat(1000));
    while body.len() < mb << 20 {
        body.push_str(&row);
    }
    p.write_revision("2", "1", "huge", &body, "DROP TABLE blob_log;\n");
    p.run(&["upgrade"]).ok();
    assert!(p.query_i64("SELECT count(*) FROM blob_log") > 10_000);
    p.run(&["verify"]).ok();
    p.run(&["downgrade"]).ok();
    assert!(integrity_ok(&p.db()));
}

#[test]
fn hostile_messages_and_revision_ids() {
    let (p, bytes) = at_head();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT, bio TEXT);\n",
    )
    .unwrap();
    // Slugs are never paths.
    for message in ["a/b", "../../etc/passwd", "..", "C:\\x", "—ünï—"] {
        let created = p.run(&["revision", "-m", message, "--format", "json"]).ok();
        let doc: serde_json::Value = serde_json::from_str(&created.stdout).unwrap();
        let up = doc["up"].as_str().unwrap().to_string();
        assert!(up.starts_with("migrations/"), "{up}");
        assert!(
            !up["migrations/".len()..].contains('/') && !up.contains(".."),
            "{up}"
        );
        std::fs::remove_file(p.path(&up)).unwrap();
        std::fs::remove_file(p.path(doc["down"].as_str().unwrap())).unwrap();
    }
    let long = "x".repeat(10_000);
    let refused: Vec<(Vec<&str>, &str)> = vec![
        (vec!["migrate", "-m", "a\nb"], "single line"),
        (vec!["migrate", "-m", "a\tb"], "control character"),
        (vec!["migrate", "-m", &long], "10000 characters"),
        (vec!["revision", "-m", &long], "10000 characters"),
        (
            vec!["migrate", "-m", "x", "--rev-id", "../1"],
            "invalid revision id",
        ),
        (
            vec!["migrate", "-m", "x", "--rev-id", "a/b"],
            "invalid revision id",
        ),
        (
            vec!["migrate", "-m", "x", "--rev-id", "head"],
            "invalid revision id",
        ),
        (
            vec!["revision", "-m", "x", "--rev-id", "base"],
            "invalid revision id",
        ),
        (
            vec!["revision", "-m", "x", "--rev-id", &long],
            "invalid revision id",
        ),
    ];
    for (args, needle) in &refused {
        let run = p.run(args);
        assert_ne!(run.code, 0, "{args:?}");
        assert_eq!(
            run.stderr
                .lines()
                .filter(|l| l.starts_with("error:"))
                .count(),
            1,
            "{}",
            run.stderr
        );
        assert!(run.error().contains(needle), "{}", run.stderr);
        assert_eq!(p.db_bytes(), bytes);
        assert_eq!(revision_count(&p), 2);
    }
}

#[test]
fn identifiers_built_to_inject_sql_stay_inert() {
    let (p, _) = at_head();
    let names = [
        "x\"; DROP TABLE user; --",
        "y'); DROP TABLE user; --",
        "line\nDROP TABLE user;",
        "]; DROP TABLE user; [",
        "`; DROP TABLE user; `",
        "*/ DROP TABLE user; /*",
    ];
    let q = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
    let mut schema = String::from("CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT);\n");
    for (i, name) in names.iter().enumerate() {
        schema.push_str(&format!(
            "CREATE TABLE {t} ({c} TEXT, id INTEGER PRIMARY KEY);\nCREATE INDEX {ix} ON {t} ({c});\nCREATE VIEW {v} AS SELECT {c} FROM {t};\nCREATE TRIGGER {tr} AFTER INSERT ON {t} BEGIN SELECT NEW.{c}; END;\n",
            t = q(name),
            c = q(&format!("{name} col")),
            ix = q(&format!("{name} ix {i}")),
            v = q(&format!("{name} view")),
            tr = q(&format!("{name} trigger")),
        ));
    }
    std::fs::write(p.path("schema.sql"), &schema).unwrap();
    p.run(&["migrate", "-m", "names", "--rev-id", "2"]).ok();
    p.run(&["upgrade"]).ok();
    p.run(&["diff"]).ok();
    assert_eq!(p.query_i64("SELECT count(*) FROM user"), 1);
    // Change every one of those tables: rebuilds quote them too.
    let changed = schema.replace(" col\" TEXT,", " col\" TEXT NOT NULL DEFAULT '',");
    std::fs::write(p.path("schema.sql"), &changed).unwrap();
    p.run(&["migrate", "-m", "rebuild names", "--rev-id", "3"])
        .ok();
    p.run(&["upgrade"]).ok();
    p.run(&["diff"]).ok();
    p.run(&["downgrade", "1"]).ok();
    assert_eq!(p.query_i64("SELECT count(*) FROM user"), 1);
    let left: Vec<String> = {
        let conn = p.db();
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE tbl_name NOT LIKE 'strata%' ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(left, ["user"]);
    eprintln!(
        "injection identifiers: {} names in tables, columns, indexes, views, triggers",
        names.len()
    );
}
