//! Resource faults: a disk that fills up during a rebuild, a read-only
//! database file, a read-only directory, and paths with spaces and unicode.
//! Each ends with a clear error and the database untouched.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;

use crate::common::{integrity_ok, strata_cmd, Run, TestProject};

/// A microblog project at its first revision, with rows.
fn project() -> TestProject {
    let p = TestProject::microblog();
    p.run(&["upgrade", "+1"]).ok();
    p.db()
        .execute_batch(
            "INSERT INTO user (username, email) VALUES ('susan', 's@x'), ('ünï', 'u@x');",
        )
        .unwrap();
    p
}

/// Runs strata as a user that file permissions apply to: `nobody` when the
/// tests run as root (root ignores them), else the current user.
fn run_unprivileged(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = strata_cmd();
    cmd.current_dir(dir).args(args);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().expect("strata runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Whether file permissions can be tested here: as a normal user always;
/// as root only if `nobody` may run the strata binary (a checkout under a
/// private home directory would not let it).
fn permissions_testable() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return true;
    }
    let ok = strata_cmd()
        .arg("--version")
        .uid(65534)
        .gid(65534)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: running as root, and user nobody cannot run the strata binary here");
    }
    ok
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Lets `nobody` into the project: the directory and its files readable.
fn open_up(p: &TestProject) {
    chmod(p.dir.path(), 0o755);
    chmod(&p.path("migrations"), 0o755);
    for entry in walk(p.dir.path()) {
        if entry.is_file() {
            chmod(&entry, 0o644);
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

#[test]
fn a_full_disk_during_a_rebuild_rolls_back() {
    let p = project();
    // SQLite's page limit stands in for the disk: the revision's first
    // statement caps the file near its current size, so the rebuild's copy
    // cannot fit.
    let pages = p.query_i64("PRAGMA page_count");
    p.write_revision(
        "20261127000000",
        "20261126110405",
        "rebuild user",
        &format!(
            "PRAGMA max_page_count = {};\n\
             CREATE TABLE user_new (id INTEGER PRIMARY KEY, username TEXT, email TEXT, password_hash TEXT, pad BLOB);\n\
             WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000)\n\
             INSERT INTO user_new (id, pad) SELECT i + 100, randomblob(4000) FROM c;\n",
            pages + 2
        ),
        "DROP TABLE user_new;\n",
    );
    std::fs::remove_file(p.up_file("20261126120000")).unwrap();
    std::fs::remove_file(p.down_file("20261126120000")).unwrap();
    let bytes = p.db_bytes();
    let run = p.run(&["upgrade"]).fails(1);
    assert!(
        run.error().contains("database or disk is full"),
        "{}",
        run.stderr
    );
    assert!(run.error().contains(".up.sql:"), "{}", run.stderr);
    assert_eq!(p.db_bytes(), bytes);
    assert!(integrity_ok(&p.db()));
}

/// A real filesystem that fills up: a 1 MiB tmpfs, where mounting is
/// allowed (root in a container that permits it); reported as skipped
/// otherwise.
#[test]
fn a_full_filesystem_during_a_rebuild_rolls_back() {
    let mount = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(mount.path())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: cannot mount a small tmpfs here");
        return;
    }
    let result = std::panic::catch_unwind(|| {
        let dir = mount.path();
        std::fs::write(dir.join("strata.toml"), "database = \"app.db\"\n").unwrap();
        std::fs::create_dir(dir.join("migrations")).unwrap();
        std::fs::write(
            dir.join("schema.sql"),
            "CREATE TABLE t (id INTEGER PRIMARY KEY, pad BLOB);\n",
        )
        .unwrap();
        let run = crate::common::run_in(
            dir,
            &crate::common::os(&["migrate", "-m", "t", "--rev-id", "1"]),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let run = crate::common::run_in(dir, &crate::common::os(&["upgrade"]));
        assert_eq!(run.code, 0, "{}", run.stderr);
        // Fill the file to about 600 KiB of the 1 MiB.
        let conn = rusqlite::Connection::open(dir.join("app.db")).unwrap();
        conn.execute_batch(
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 140)
             INSERT INTO t SELECT i, randomblob(4000) FROM c;",
        )
        .unwrap();
        drop(conn);
        // A rebuild needs a second copy of every row, and a journal.
        std::fs::write(
            dir.join("schema.sql"),
            "CREATE TABLE t (id INTEGER PRIMARY KEY, pad BLOB NOT NULL);\n",
        )
        .unwrap();
        let run = crate::common::run_in(
            dir,
            &crate::common::os(&["migrate", "-m", "nn", "--rev-id", "2"]),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let bytes = std::fs::read(dir.join("app.db")).unwrap();
        let run = crate::common::run_in(dir, &crate::common::os(&["upgrade"])).fails(1);
        assert!(
            run.error().contains("full") || run.error().contains("disk I/O"),
            "{}",
            run.stderr
        );
        assert_eq!(std::fs::read(dir.join("app.db")).unwrap(), bytes);
        let conn = rusqlite::Connection::open(dir.join("app.db")).unwrap();
        assert!(integrity_ok(&conn));
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 140);
    });
    let _ = std::process::Command::new("umount")
        .arg(mount.path())
        .status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn a_read_only_database_file_is_refused_untouched() {
    if !permissions_testable() {
        return;
    }
    let p = project();
    open_up(&p);
    chmod(&p.db_path(), 0o444);
    let bytes = p.db_bytes();
    let run = run_unprivileged(p.dir.path(), &["upgrade"]).fails(1);
    assert!(
        run.error().contains("database app.db is read-only"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    assert_eq!(p.db_bytes(), bytes);
    // Reading still works.
    let run = run_unprivileged(p.dir.path(), &["current"]).ok();
    assert!(run.stdout.contains("20261126110405"), "{}", run.stdout);
}

#[test]
fn a_read_only_directory_is_refused_untouched() {
    if !permissions_testable() {
        return;
    }
    let p = project();
    open_up(&p);
    chmod(&p.db_path(), 0o666);
    chmod(p.dir.path(), 0o555);
    let bytes = p.db_bytes();
    let run = run_unprivileged(p.dir.path(), &["upgrade"]);
    chmod(p.dir.path(), 0o755);
    let run = run.fails(1);
    assert!(
        run.error().contains("directory . is not writable"),
        "{}",
        run.stderr
    );
    assert_eq!(p.db_bytes(), bytes);
    assert!(!p.path("app.db-journal").exists());
}

#[test]
fn paths_with_spaces_and_unicode_work() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("my project — größe ✓");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("strata.toml"),
        "database = \"data dir/app ü.db\"\nmigrations = \"mi grations\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.join("mi grations")).unwrap();
    std::fs::create_dir(dir.join("data dir")).unwrap();
    std::fs::write(
        dir.join("schema.sql"),
        "CREATE TABLE \"ta ble\" (\"cöl\" TEXT);\n",
    )
    .unwrap();
    let run = |args: &[&str]| crate::common::run_in(&dir, &crate::common::os(args));
    assert_eq!(run(&["migrate", "-m", "first"]).code, 0);
    let up = run(&["upgrade", "--backup"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert!(dir.join("data dir/app ü.db").exists());
    assert_eq!(run(&["check"]).code, 0);
    assert_eq!(run(&["downgrade"]).code, 0);
    // -C and DATABASE_URL with spaces too.
    let url = format!("sqlite:///{}", "data dir/other ✓.db");
    let out = strata_cmd()
        .arg("-C")
        .arg(&dir)
        .arg("upgrade")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("data dir/other ✓.db").exists());
}
