//! `strata import`: each peer tool makes the history — the real tool
//! wherever one installs here — and strata imports it, verifies it, and
//! carries on with `migrate` and `upgrade`. Refused imports change nothing.
//!
//! The real tools: dbmate (npm), Flask-Migrate (PyPI), and refinery, sqlx
//! and diesel as Rust crates in tests/peers (built once into
//! target/peers). goose is the exception: its module needs a newer Go than
//! the Go this machine's Debian ships, so its history is made by hand here,
//! with the table goose v3 creates (the statement is goose's own).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::{installed_or_skip, os, run_in, Run};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// A peer's project: a bare directory (no strata.toml yet) with app.db.
struct Peer {
    dir: tempfile::TempDir,
}

impl Peer {
    fn new() -> Peer {
        Peer {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn strata(&self, args: &[&str]) -> Run {
        let mut all = vec!["-d", "app.db"];
        all.extend_from_slice(args);
        run_in(self.dir.path(), &os(&all))
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path("app.db")).unwrap()
    }

    /// Every file under the project and the database's bytes: what a
    /// refused or dry-run import must leave exactly as it was.
    fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, Vec<u8>)>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            entries.sort();
            for path in entries {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                if path.is_dir() {
                    if !rel.contains("__pycache__") {
                        walk(&path, root, out);
                    }
                } else {
                    out.push((rel, std::fs::read(&path).unwrap()));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out
    }

    fn strata_applied(&self) -> Vec<String> {
        crate::common::applied(&self.db())
    }

    /// Import, verify and check, then a second import that changes nothing.
    #[track_caller]
    fn import_and_verify(&self, tool: &str) -> serde_json::Value {
        let before = self.snapshot();
        let dry = self.strata(&["import", "--from", tool, "--dry-run"]).ok();
        assert!(
            dry.stderr.contains("Dry run: nothing was written"),
            "{}",
            dry.stderr
        );
        assert!(before == self.snapshot(), "--dry-run changed a byte");
        let out = self
            .strata(&["--format", "json", "import", "--from", tool])
            .ok();
        let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        self.strata(&["verify"]).ok();
        self.strata(&["check"]).ok();
        let once = self.snapshot();
        let again = self.strata(&["import", "--from", tool]).ok();
        assert!(
            again.stderr.contains("nothing changed in the database"),
            "{}",
            again.stderr
        );
        assert!(once == self.snapshot(), "a second import changed something");
        report
    }

    /// `migrate` and `upgrade` carry on from the imported head, on the
    /// database strata.toml now names (no `-d`).
    #[track_caller]
    fn carry_on(&self, database: &str) {
        let schema = std::fs::read_to_string(self.path("schema.sql")).unwrap();
        self.write(
            "schema.sql",
            &format!("{schema}\nCREATE TABLE tag (id INTEGER PRIMARY KEY, name TEXT);\n"),
        );
        let strata = |args: &[&str]| run_in(self.dir.path(), &os(args));
        strata(&["migrate", "-m", "tags"]).ok();
        strata(&["upgrade"]).ok();
        strata(&["check"]).ok();
        let tag: i64 = rusqlite::Connection::open(self.path(database))
            .unwrap()
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'tag'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tag, 1);
    }

    /// A refused import: one `error:` line, nothing written.
    #[track_caller]
    fn refused(&self, tool: &str, says: &str) {
        let before = self.snapshot();
        let out = self.strata(&["import", "--from", tool]).fails(1);
        assert!(out.error().contains(says), "{}", out.stderr);
        assert!(
            before == self.snapshot(),
            "a refused import changed something"
        );
    }
}

fn revisions(report: &serde_json::Value) -> Vec<(String, bool, String)> {
    report["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_str().unwrap().to_string(),
                r["applied"].as_bool().unwrap(),
                r["down"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// tests/peers built once per test run: refinery, sqlx and diesel.
fn rust_peers() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let target = Path::new(REPO).join("target/peers");
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--quiet"])
            .current_dir(Path::new(REPO).join("tests/peers"))
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "tests/peers did not build:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target.join("debug/strata-peers")
    })
}

#[track_caller]
fn run_peer(tool: &str, p: &Peer, dir: &str) {
    let out = Command::new(rust_peers())
        .args([tool, dir, "app.db"])
        .current_dir(p.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n";
const POSTS: &str = "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), body TEXT);\nCREATE INDEX posts_user ON posts (user_id);\n";

#[test]
fn refinery_history_imports_with_refinerys_checksums() {
    let p = Peer::new();
    p.write("migrations/V1__create_users.sql", USERS);
    p.write("migrations/V2__add_posts.sql", POSTS);
    run_peer("refinery", &p, "migrations");
    // A third migration refinery has not run yet.
    p.write(
        "migrations/V3__user_email.sql",
        "ALTER TABLE users ADD COLUMN email TEXT;\n",
    );
    let report = p.import_and_verify("refinery");
    assert_eq!(
        revisions(&report),
        [
            ("1".into(), true, "generated".into()),
            ("2".into(), true, "generated".into()),
            ("3".into(), false, "generated".into()),
        ]
    );
    assert_eq!(p.strata_applied(), ["1", "2"]);
    let down = std::fs::read_to_string(p.path("strata/migrations/2_add_posts.down.sql")).unwrap();
    assert!(
        down.contains("DROP TABLE \"posts\"") || down.contains("DROP TABLE posts"),
        "{down}"
    );
    assert!(down.contains("data the up script"), "{down}");
    // refinery's table is untouched: going back stays possible.
    let rows: i64 = p
        .db()
        .query_row("SELECT count(*) FROM refinery_schema_history", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(rows, 2);
    p.strata(&["upgrade"]).ok();
    assert_eq!(p.strata_applied(), ["1", "2", "3"]);
    p.carry_on("app.db");
}

#[test]
fn refinery_edited_or_missing_files_are_refused() {
    let p = Peer::new();
    p.write("migrations/V1__create_users.sql", USERS);
    p.write("migrations/V2__add_posts.sql", POSTS);
    run_peer("refinery", &p, "migrations");
    // One changed byte: refinery's checksum (name, version, text) differs.
    p.write(
        "migrations/V2__add_posts.sql",
        &POSTS.replace("body", "text"),
    );
    p.refused(
        "refinery",
        "V2__add_posts is different from the file migrations/V2__add_posts.sql",
    );
    std::fs::remove_file(p.path("migrations/V2__add_posts.sql")).unwrap();
    p.refused(
        "refinery",
        "refinery records version 2 as applied, but no migration file defines it",
    );
}

#[test]
fn sqlx_history_imports_with_its_down_scripts() {
    let p = Peer::new();
    p.write("migrations/20240101000000_users.up.sql", USERS);
    p.write(
        "migrations/20240101000000_users.down.sql",
        "DROP TABLE users;\n",
    );
    p.write("migrations/20240102000000_posts.up.sql", POSTS);
    p.write(
        "migrations/20240102000000_posts.down.sql",
        "DROP TABLE posts;\n",
    );
    run_peer("sqlx", &p, "migrations");
    let report = p.import_and_verify("sqlx");
    assert_eq!(
        revisions(&report),
        [
            ("20240101000000".into(), true, "tool".into()),
            ("20240102000000".into(), true, "tool".into()),
        ]
    );
    p.carry_on("app.db");
}

#[test]
fn sqlx_simple_migrations_get_generated_downs_and_a_dirty_row_is_refused() {
    let p = Peer::new();
    p.write("migrations/1_users.sql", USERS);
    p.write("migrations/2_posts.sql", POSTS);
    run_peer("sqlx", &p, "migrations");
    // What a failed `-- no-transaction` migration leaves behind.
    p.db()
        .execute_batch("UPDATE _sqlx_migrations SET success = 0 WHERE version = 2")
        .unwrap();
    p.refused("sqlx", "sqlx's migration 2 is partially applied");
    p.db()
        .execute_batch("UPDATE _sqlx_migrations SET success = 1 WHERE version = 2")
        .unwrap();
    // sqlx hashes the raw bytes: a CRLF checkout is an edit to sqlx.
    p.write("migrations/1_users.sql", &USERS.replace('\n', "\r\n"));
    p.refused(
        "sqlx",
        "sqlx's applied migration 1 (users) is different from the file",
    );
    p.write("migrations/1_users.sql", USERS);
    let report = p.import_and_verify("sqlx");
    assert_eq!(
        revisions(&report),
        [
            ("1".into(), true, "generated".into()),
            ("2".into(), true, "generated".into())
        ]
    );
}

#[test]
fn diesel_history_imports_with_its_down_scripts() {
    let p = Peer::new();
    p.write("migrations/2024-01-01-000000_create_users/up.sql", USERS);
    p.write(
        "migrations/2024-01-01-000000_create_users/down.sql",
        "DROP TABLE users;\n",
    );
    p.write("migrations/2024-01-02-000000_add_posts/up.sql", POSTS);
    p.write(
        "migrations/2024-01-02-000000_add_posts/down.sql",
        "DROP TABLE posts;\n",
    );
    run_peer("diesel", &p, "migrations");
    let report = p.import_and_verify("diesel");
    assert_eq!(
        revisions(&report),
        [
            ("20240101000000".into(), true, "tool".into()),
            ("20240102000000".into(), true, "tool".into()),
        ]
    );
    std::fs::remove_dir_all(p.path("migrations/2024-01-02-000000_add_posts")).unwrap();
    // strata's copy is there already; diesel's is gone.
    p.refused("diesel", "diesel records version 20240102000000 as applied");
    p.carry_on("app.db");
}

#[test]
fn dbmate_history_imports_with_the_real_dbmate() {
    let Some(dbmate) = installed_or_skip(
        "dbmate_history_imports_with_the_real_dbmate",
        "dbmate",
        "npm install -g dbmate",
        Some("STRATA_DBMATE"),
        "dbmate",
        &|c| {
            c.arg("--help");
        },
    ) else {
        return;
    };
    let p = Peer::new();
    p.write(
        "db/migrations/20240101000000_create_users.sql",
        &format!("-- migrate:up\n{USERS}\n-- migrate:down\nDROP TABLE users;\n"),
    );
    p.write(
        "db/migrations/20240102000000_add_posts.sql",
        &format!("-- migrate:up\n{POSTS}\n-- migrate:down\nDROP TABLE posts;\n"),
    );
    let out = Command::new(&dbmate)
        .args(["--url", "sqlite:app.db", "--no-dump-schema", "up"])
        .current_dir(p.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = p.import_and_verify("dbmate");
    assert_eq!(
        revisions(&report),
        [
            ("20240101000000".into(), true, "tool".into()),
            ("20240102000000".into(), true, "tool".into()),
        ]
    );
    let config = std::fs::read_to_string(p.path("strata.toml")).unwrap();
    assert!(
        config.contains("exclude = [\"schema_migrations\"]"),
        "{config}"
    );
    let dump = p.strata(&["dump"]).ok();
    assert!(
        !dump.stdout.contains("schema_migrations"),
        "{}",
        dump.stdout
    );
    p.carry_on("app.db");
}

#[test]
fn flask_migrate_history_is_adopted_with_the_real_flask_migrate() {
    let Some(flask) = installed_or_skip(
        "flask_migrate_history_is_adopted_with_the_real_flask_migrate",
        "Flask-Migrate",
        "pip install Flask-Migrate",
        Some("STRATA_FLASK"),
        "flask",
        &|c| {
            // Flask alone is not enough: Flask-Migrate and Flask-SQLAlchemy too.
            let dir =
                std::env::temp_dir().join(format!("strata-flask-probe-{}", std::process::id()));
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(
                dir.join("probe.py"),
                "from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\nfrom flask_migrate import Migrate\napp = Flask(__name__)\napp.config['SQLALCHEMY_DATABASE_URI'] = 'sqlite://'\nMigrate(app, SQLAlchemy(app))\n",
            );
            c.args(["--app", "probe", "db", "--help"]).current_dir(dir);
        },
    ) else {
        return;
    };
    let p = Peer::new();
    let app = "from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\nfrom flask_migrate import Migrate\n\napp = Flask(__name__)\napp.config['SQLALCHEMY_DATABASE_URI'] = 'sqlite:///app.db'\ndb = SQLAlchemy(app)\nmigrate = Migrate(app, db)\n\nclass User(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n    username = db.Column(db.String(64), index=True, unique=True)\n";
    p.write("app.py", app);
    let flask_db = |args: &[&str]| {
        let out = Command::new(&flask)
            .arg("db")
            .args(args)
            .current_dir(p.dir.path())
            .env("FLASK_APP", "app.py")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "flask db {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    flask_db(&["init"]);
    flask_db(&["migrate", "-m", "users table"]);
    flask_db(&["upgrade"]);
    p.write(
        "app.py",
        &format!("{app}\nclass Post(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n    body = db.Column(db.String(140))\n    user_id = db.Column(db.Integer, db.ForeignKey(User.id), index=True)\n"),
    );
    flask_db(&["migrate", "-m", "posts table"]);
    // Files ahead of the database: the baseline would miss a revision.
    let strata_db = |args: &[&str]| {
        let mut all = vec!["-d", "instance/app.db"];
        all.extend_from_slice(args);
        run_in(p.dir.path(), &os(&all))
    };
    let before = p.snapshot();
    let behind = strata_db(&["import", "--from", "flask-migrate"]).fails(1);
    assert!(
        behind.stderr.contains("flask db upgrade"),
        "{}",
        behind.stderr
    );
    assert!(before == p.snapshot());
    flask_db(&["upgrade"]);
    let out = strata_db(&["--format", "json", "import", "--from", "flask-migrate"]).ok();
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let revs = revisions(&report);
    assert_eq!(revs.len(), 1, "{revs:?}");
    assert_eq!((revs[0].1, revs[0].2.as_str()), (true, "baseline"));
    let schema = std::fs::read_to_string(p.path("schema.sql")).unwrap();
    assert!(
        schema.contains("CREATE TABLE post") && !schema.contains("alembic_version"),
        "{schema}"
    );
    // strata.toml names instance/app.db, so no -d from here on.
    run_in(p.dir.path(), &os(&["verify"])).ok();
    run_in(p.dir.path(), &os(&["check"])).ok();
    let again = run_in(p.dir.path(), &os(&["import", "--from", "flask-migrate"])).ok();
    assert!(again.stderr.contains("nothing changed"), "{}", again.stderr);
    let dump = run_in(p.dir.path(), &os(&["dump"])).ok();
    assert!(!dump.stdout.contains("alembic_version"), "{}", dump.stdout);
    p.carry_on("instance/app.db");
}

#[test]
fn goose_history_imports_from_its_log() {
    // Made by hand: goose v3's own table and rows (see the module comment).
    let p = Peer::new();
    p.write(
        "migrations/00001_create_users.sql",
        &format!("-- +goose Up\n{USERS}\n-- +goose Down\nDROP TABLE users;\n"),
    );
    p.write(
        "migrations/00002_add_posts.sql",
        &format!("-- +goose Up\n-- +goose StatementBegin\n{POSTS}-- +goose StatementEnd\n\n-- +goose Down\nDROP TABLE posts;\n"),
    );
    p.write(
        "migrations/00003_user_email.sql",
        "-- +goose Up\nALTER TABLE users ADD COLUMN email TEXT;\n-- +goose Down\nALTER TABLE users DROP COLUMN email;\n",
    );
    let conn = p.db();
    conn.execute_batch(&format!(
        "CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')));
         INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1);
         {USERS}{POSTS}ALTER TABLE users ADD COLUMN email TEXT;
         INSERT INTO goose_db_version (version_id, is_applied) VALUES (1, 1), (2, 1), (3, 1);
         ALTER TABLE users DROP COLUMN email;
         INSERT INTO goose_db_version (version_id, is_applied) VALUES (3, 0);"
    ))
    .unwrap();
    drop(conn);
    let report = p.import_and_verify("goose");
    // The log's newest row for version 3 says it was rolled back.
    assert_eq!(
        revisions(&report),
        [
            ("1".into(), true, "tool".into()),
            ("2".into(), true, "tool".into()),
            ("3".into(), false, "tool".into()),
        ]
    );
    p.strata(&["upgrade"]).ok();
    assert_eq!(p.strata_applied(), ["1", "2", "3"]);
    p.carry_on("app.db");
}

#[test]
fn bad_requests_change_nothing() {
    let p = Peer::new();
    p.write("migrations/V1__create_users.sql", USERS);
    p.db().execute_batch(USERS).unwrap();
    let before = p.snapshot();
    let out = p.strata(&["import", "--from", "flyway"]).fails(2);
    assert!(
        out.error()
            .contains("--from takes refinery, sqlx, goose, dbmate, diesel or flask-migrate"),
        "{}",
        out.stderr
    );
    let out = p.strata(&["import", "--from", "refinery"]).fails(1);
    assert!(
        out.error().contains("no refinery_schema_history table"),
        "{}",
        out.stderr
    );
    let out = p.strata(&["import", "--from", "dbmate"]).fails(2);
    assert!(
        out.error().contains("no dbmate migrations directory here"),
        "{}",
        out.stderr
    );
    assert!(before == p.snapshot());
}
