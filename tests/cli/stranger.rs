//! Ready for a stranger (issue 10): hints that are safe to follow, clean
//! pipes and exit codes, the conventions of a Rust CLI.

use crate::common::{strata_cmd, TestProject};

fn history_rows(p: &TestProject) -> Vec<(String, String, String)> {
    let conn = p.db();
    let mut stmt = conn
        .prepare("SELECT revision, applied_at, up_sha256 FROM strata_history ORDER BY revision")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn log_count(p: &TestProject) -> i64 {
    p.query_i64("SELECT count(*) FROM strata_log")
}

/// 10.3: stamping the revision a database is at changes nothing, and an
/// edited applied file stays edited until `rehash` accepts it, logged.
#[test]
fn stamp_at_the_current_revision_changes_nothing_and_rehash_is_explicit() {
    let p = TestProject::microblog();
    p.run(&["upgrade"]).ok();
    let before = history_rows(&p);
    let logged = log_count(&p);
    let bytes = p.db_bytes();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let run = p.run(&["stamp", "head"]).ok();
    assert!(run.stderr.contains("nothing changed"), "{}", run.stderr);
    assert_eq!(p.db_bytes(), bytes);

    // Edit an applied file: check notices, stamp does not swallow it.
    let up = p.up_file("20261126110405");
    let text = std::fs::read_to_string(&up).unwrap();
    std::fs::write(&up, format!("{text}\n-- an edit\n")).unwrap();
    let check = p.run(&["check"]);
    assert_eq!(check.code, 1);
    assert!(
        check.stderr.contains("strata rehash 20261126110405")
            || check.stdout.contains("strata rehash 20261126110405"),
        "{}{}",
        check.stdout,
        check.stderr
    );
    p.run(&["stamp", "head"]).ok();
    assert_eq!(history_rows(&p), before);
    assert_eq!(p.run(&["check"]).code, 1);
    let down = p.run(&["downgrade"]).fails(1);
    assert!(
        down.stderr.contains("`strata rehash 20261126110405`"),
        "{}",
        down.stderr
    );

    // Follow the hint: accepted once, logged, and check is clean again.
    p.run(&["rehash", "20261126110405"]).ok();
    assert_eq!(log_count(&p), logged + 1);
    assert_eq!(
        p.query_i64("SELECT count(*) FROM strata_log WHERE direction = 'rehash'"),
        1
    );
    p.run(&["check"]).ok();
    let again = p.run(&["rehash", "20261126110405"]).ok();
    assert!(again.stderr.contains("nothing changed"), "{}", again.stderr);
    assert_eq!(history_rows(&p)[1], before[1]);
}

/// Bookkeeping written by a strata before `rehash` existed is upgraded in
/// the next write's transaction, every log row kept.
#[test]
fn version_one_bookkeeping_is_upgraded() {
    let p = TestProject::microblog();
    p.run(&["upgrade"]).ok();
    p.db()
        .execute_batch(
            "UPDATE strata_meta SET value = '1';
             CREATE TABLE old_log AS SELECT * FROM strata_log;
             DROP TABLE strata_log;
             CREATE TABLE strata_log (id INTEGER PRIMARY KEY, at TEXT NOT NULL, revision TEXT NOT NULL,
                 direction TEXT NOT NULL CHECK (direction IN ('upgrade', 'downgrade', 'stamp')),
                 duration_ms INTEGER NOT NULL, strata_version TEXT NOT NULL);
             INSERT INTO strata_log SELECT * FROM old_log; DROP TABLE old_log;",
        )
        .unwrap();
    let logged = log_count(&p);
    let up = p.up_file("20261126120000");
    let text = std::fs::read_to_string(&up).unwrap();
    std::fs::write(&up, format!("{text}\n-- an edit\n")).unwrap();
    p.run(&["rehash", "20261126120000"]).ok();
    assert_eq!(
        p.query_i64("SELECT CAST(value AS INTEGER) FROM strata_meta"),
        2
    );
    assert_eq!(log_count(&p), logged + 1);
}

/// 10.4: the backup's path is printed before the first revision runs, so a
/// failed upgrade has said where the copy is.
#[test]
fn backup_path_is_printed_before_a_failing_revision() {
    let p = TestProject::new();
    p.write_revision(
        "1",
        "base",
        "t",
        "CREATE TABLE t (id INTEGER PRIMARY KEY);",
        "DROP TABLE t;",
    );
    p.run(&["upgrade"]).ok();
    p.write_revision(
        "2",
        "1",
        "bad",
        "INSERT INTO nowhere VALUES (1);",
        "SELECT 1;",
    );
    let run = p.run(&["upgrade", "--backup"]).fails(1);
    let backup_line = run
        .stderr
        .lines()
        .position(|l| l.starts_with("Backup of app.db written to "))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let running = run
        .stderr
        .lines()
        .position(|l| l.starts_with("Running upgrade"))
        .unwrap();
    assert!(backup_line < running, "{}", run.stderr);
    let path = run
        .stderr
        .lines()
        .nth(backup_line)
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap();
    assert!(p.path(path).exists(), "{path}");
}

/// 10.6: a closed stderr (`strata upgrade 2>&1 | head -1`) neither panics
/// nor stops the run: every revision is applied.
#[test]
fn a_closed_pipe_never_panics_or_stops_a_run() {
    let p = TestProject::new();
    for i in 1..=30 {
        let parent = if i == 1 {
            "base".to_string()
        } else {
            (i - 1).to_string()
        };
        p.write_revision(
            &i.to_string(),
            &parent,
            &format!("revision {i}"),
            &format!("CREATE TABLE t{i} (id INTEGER PRIMARY KEY);"),
            &format!("DROP TABLE t{i};"),
        );
    }
    let mut child = strata_cmd()
        .current_dir(p.dir.path())
        .arg("upgrade")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close both ends at once, before strata writes anything.
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "exit code with closed pipes");
    assert_eq!(p.applied().len(), 30);
    let mut child = strata_cmd()
        .current_dir(p.dir.path())
        .arg("history")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// 10.12: `--color never` reaches clap's own messages, even where the
/// environment forces colour; `--color always` colours them.
#[test]
fn color_never_reaches_clap_messages() {
    let run = |args: &[&str]| {
        let out = strata_cmd()
            .env_remove("NO_COLOR")
            .env("CLICOLOR_FORCE", "1")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, text) = run(&["--color", "never", "upgarde"]);
    assert_eq!(code, Some(2));
    assert!(!text.contains('\x1b'), "{text:?}");
    let (_, text) = run(&["--color=always", "upgarde"]);
    assert!(text.contains('\x1b'), "{text:?}");
}

/// 10.11 and 10.13: completions, a man page, help that shows examples and
/// the environment variable, and `revision` without a message refused.
#[test]
fn completions_man_and_help() {
    let p = TestProject::microblog();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = p.run(&["completions", shell]).ok();
        assert!(run.stdout.contains("upgrade"), "{shell}");
    }
    let man = p.run(&["man"]).ok();
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH strata"),
        "{}",
        &man.stdout[..100]
    );
    for command in ["init", "migrate", "upgrade", "downgrade", "check"] {
        let help = p.run(&[command, "--help"]).ok();
        let text = help.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains("Examples:"), "{command}");
        assert!(text.contains("[env: DATABASE_URL]"), "{command}");
        assert!(text.contains("Global options:"), "{command}");
    }
    assert!(p.run(&["upgrade", "--help"]).stdout.contains("FROM:TO"));
    let run = p.run(&["revision"]);
    assert_eq!(run.code, 2);
    assert_eq!(std::fs::read_dir(p.path("migrations")).unwrap().count(), 4);
    let wrong = p.run(&["downgrade", "+1"]).fails(2);
    assert!(wrong.error().contains("'+1' points up"), "{}", wrong.stderr);
}

/// 10.5: `upgrade --sql` on a database that exists starts from its current
/// revision (read, not written), so the README's `strata upgrade --sql |
/// sqlite3 app.db` works on a database that is not empty.
#[test]
fn upgrade_sql_starts_from_the_database() {
    if !crate::common::sqlite3_or_skip("upgrade_sql_starts_from_the_database") {
        return;
    }
    let p = TestProject::microblog();
    p.run(&["upgrade", "+1"]).ok();
    let bytes = p.db_bytes();
    let run = p.run(&["upgrade", "--sql"]).ok();
    assert_eq!(p.db_bytes(), bytes, "--sql never writes");
    assert!(
        run.stderr.contains("starting from 20261126110405"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("users table"), "{}", run.stdout);
    let mut child = std::process::Command::new("sqlite3")
        .arg(p.db_path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(run.stdout.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(p.applied(), ["20261126110405", "20261126120000"]);
    p.run(&["diff", "--against", "head"]).ok();
    // FROM:TO stays for offline use; --format json with --sql is refused.
    let offline = p.run(&["upgrade", "--sql", "base:head"]).ok();
    assert!(offline.stdout.contains("users table"));
    p.run(&["--format", "json", "upgrade", "--sql"]).fails(2);
}

/// 10.9: sqlx's URL forms, a `.env` beside strata.toml (the environment
/// wins over it, `-d` over both), and `-d` relative to the working
/// directory.
#[test]
fn urls_dotenv_and_relative_database_flags() {
    let p = TestProject::microblog();
    std::fs::create_dir(p.path("sub")).unwrap();
    std::fs::write(
        p.path(".env"),
        "# local settings\nDATABASE_URL=sqlite:dotenv.db\n",
    )
    .unwrap();
    p.run(&["upgrade"]).ok();
    assert!(p.path("dotenv.db").exists());
    p.run_with(&["upgrade"], &[("DATABASE_URL", "sqlite://env.db")])
        .ok();
    assert!(p.path("env.db").exists());
    // -d wins, and is relative to where strata runs.
    let run = crate::common::strata_cmd()
        .current_dir(p.path("sub"))
        .env("DATABASE_URL", "sqlite:///env.db")
        .args(["-d", "flag.db", "upgrade"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(p.path("sub/flag.db").exists());
    assert!(!p.path("flag.db").exists());
}

/// 10.14: `-v` prints each statement and its time; without a terminal no
/// progress bar is drawn.
#[test]
fn verbose_prints_each_statement_and_pipes_get_no_bars() {
    let p = TestProject::microblog();
    let run = p.run(&["upgrade", "-v"]).ok();
    let timed: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains(" ms  migrations/") && l.contains(".up.sql:"))
        .collect();
    assert_eq!(timed.len(), 6, "{}", run.stderr);
    assert!(
        !run.stderr.contains('\u{2588}') && !run.stderr.contains('\x1b'),
        "{}",
        run.stderr
    );
    let quiet = p.run(&["downgrade", "-v", "-q"]).ok();
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
}

/// 10.14: on a terminal, a table rebuild shows rows copied with rate and
/// ETA (through `script`, which gives strata a terminal; skipped visibly
/// where it is missing), and the copy is exactly the script's.
#[test]
fn a_rebuild_on_a_terminal_shows_rows_copied() {
    let script = std::process::Command::new("script")
        .arg("--version")
        .output();
    if script.is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "script (util-linux) is missing"
        );
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED a_rebuild_on_a_terminal_shows_rows_copied: needs script (util-linux)"
        );
        return;
    }
    let p = TestProject::new();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n",
    )
    .unwrap();
    p.run(&["migrate", "-m", "t"]).ok();
    p.run(&["upgrade"]).ok();
    p.db()
        .execute_batch(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 200000)
             INSERT INTO t (v) SELECT 'v' || x FROM c;",
        )
        .unwrap();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);\n",
    )
    .unwrap();
    p.run(&["migrate", "-m", "not null"]).ok();
    let out = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{} upgrade", env!("CARGO_BIN_EXE_strata")),
            "/dev/null",
        ])
        .current_dir(p.dir.path())
        .env_remove("DATABASE_URL")
        // script forwards its stdin to the terminal it makes: give it one
        // that exists even where the test runs with none.
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("rows of t (") && text.contains("rows/s)"),
        "{text}"
    );
    assert_eq!(p.query_i64("SELECT count(*) FROM t"), 200000);
    p.run(&["diff"]).ok();
}

/// Runs strata on a terminal (`script`), typing `input`; None where
/// `script` is missing (skipped visibly outside CI).
fn on_terminal(p: &TestProject, args: &str, input: &str, test: &str) -> Option<String> {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "script (util-linux) is missing"
        );
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: needs script (util-linux)"
        );
        return None;
    }
    use std::io::Write as _;
    let mut child = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{} {args}", env!("CARGO_BIN_EXE_strata")),
            "/dev/null",
        ])
        .current_dir(p.dir.path())
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Give the question a moment to be asked before answering it.
    std::thread::sleep(std::time::Duration::from_millis(500));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// 10.1: on a terminal the likely rename is a question, and Enter keeps the
/// data (a rename); `y` says it really is a drop.
#[test]
fn on_a_terminal_enter_keeps_the_data() {
    let p = TestProject::new();
    std::fs::write(
        p.path("schema.sql"),
        "CREATE TABLE user (id INTEGER PRIMARY KEY, about TEXT);\n",
    )
    .unwrap();
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
    let Some(text) = on_terminal(
        &p,
        "migrate -m bio",
        "\n",
        "on_a_terminal_enter_keeps_the_data",
    ) else {
        return;
    };
    assert!(
        text.contains("Drop 'about' and its data instead of renaming it? [y/N]"),
        "{text}"
    );
    assert!(
        text.contains("Detected renamed column 'user.about' to 'bio'"),
        "{text}"
    );
    p.run(&["upgrade"]).ok();
    let bio: String = p
        .db()
        .query_row("SELECT bio FROM user", [], |r| r.get(0))
        .unwrap();
    assert_eq!(bio, "kept");
    p.run(&["downgrade"]).ok();
    for entry in std::fs::read_dir(p.path("migrations")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("_bio.") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let text = on_terminal(
        &p,
        "migrate -m bio",
        "y\n",
        "on_a_terminal_enter_keeps_the_data",
    )
    .unwrap();
    assert!(
        text.contains("Detected removed column 'user.about'"),
        "{text}"
    );
}
