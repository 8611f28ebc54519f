//! `strata lint`: every rule fires on a revision that breaks it and stays
//! quiet on its safe neighbour, on hand-written SQL.

use crate::common::*;

const BASE: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, note TEXT);
CREATE TABLE gone (x);
CREATE VIEW v AS SELECT 1 AS one;
CREATE VIRTUAL TABLE docs USING fts5(body);
CREATE VIRTUAL TABLE ext USING fts5(name, content='t', content_rowid='id');
";

fn project(up: &str, down: &str) -> TestProject {
    let p = TestProject::new();
    p.write_revision(
        "1",
        "base",
        "base",
        BASE,
        "DROP TABLE ext;\nDROP TABLE docs;\nDROP VIEW v;\nDROP TABLE gone;\nDROP TABLE t;\n",
    );
    p.write_revision("2", "1", "change", up, down);
    p
}

/// The codes lint reports for revision 2 (accepted ones marked `+`), and
/// its exit code.
fn lint(up: &str, down: &str) -> (Vec<String>, i32) {
    let p = project(up, down);
    lint_in(&p, &["lint", "--since", "1"])
}

fn lint_in(p: &TestProject, args: &[&str]) -> (Vec<String>, i32) {
    let mut full = vec!["--format", "json"];
    full.extend_from_slice(args);
    let run = p.run(&full);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("lint JSON");
    let codes = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let code = f["code"].as_str().unwrap().to_string();
            if f["accepted"].is_null() {
                code
            } else {
                format!("{code}+")
            }
        })
        .collect();
    (codes, run.code)
}

const REBUILD_AGE_TEXT: &str =
    "CREATE TABLE t_new (id INTEGER PRIMARY KEY, name TEXT, age TEXT, note TEXT);
INSERT INTO t_new (id, name, age, note) SELECT id, name, age, note FROM t;
DROP TABLE t;
ALTER TABLE t_new RENAME TO t;
";

#[test]
fn drops_fire_and_safe_drops_do_not() {
    assert_eq!(
        lint("DROP TABLE gone;\n", "CREATE TABLE gone (x);\n"),
        (vec!["S101".into()], 1)
    );
    assert_eq!(
        lint(
            "DROP TABLE docs;\n",
            "CREATE VIRTUAL TABLE docs USING fts5(body);\n"
        ),
        (vec!["S101".into()], 1)
    );
    // No rows of its own: the index is rebuilt from `t`.
    assert_eq!(
        lint(
            "DROP TABLE ext;\n",
            "CREATE VIRTUAL TABLE ext USING fts5(name, content='t', content_rowid='id');\n"
        ),
        (vec![], 0)
    );
    assert_eq!(
        lint("DROP VIEW v;\n", "CREATE VIEW v AS SELECT 1 AS one;\n"),
        (vec![], 0)
    );
    assert_eq!(
        lint(
            "ALTER TABLE t DROP COLUMN note;\n",
            "ALTER TABLE t ADD COLUMN note TEXT;\n"
        ),
        (vec!["S102".into()], 1)
    );
    assert_eq!(
        lint(
            "ALTER TABLE t ADD COLUMN extra TEXT;\n",
            "ALTER TABLE t DROP COLUMN extra;\n"
        ),
        (vec![], 0)
    );
}

#[test]
fn findings_name_the_file_and_line_with_a_hint() {
    let p = project(
        "CREATE TABLE n (x);\n\nALTER TABLE t DROP COLUMN note;\n",
        "ALTER TABLE t ADD COLUMN note TEXT;\nDROP TABLE n;\n",
    );
    let run = p.run(&["lint"]).fails(1);
    assert!(
        run.stdout.contains(
            "migrations/2_change.up.sql:8: error[S102 drop-column]: drops column 't.note'"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("hint: stop reading the column first"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("`-- strata:allow S102 <reason>`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("lint: 2 revision(s), 1 error(s), 0 warning(s), 0 accepted"),
        "{}",
        run.stderr
    );
    // The same, for GitHub Actions.
    let run = p.run(&["--format", "github", "lint"]).fails(1);
    assert!(
        run.stdout.starts_with("::error file=migrations/2_change.up.sql,line=8,title=strata S102 drop-column::drops column 't.note'%0Ahint: "),
        "{}",
        run.stdout
    );
}

#[test]
fn a_type_change_to_another_affinity_fires_and_one_to_blob_does_not() {
    let (codes, code) = lint(REBUILD_AGE_TEXT, "SELECT 1;\n");
    assert_eq!((codes, code), (vec!["S302".into(), "S103".into()], 1));
    let to_blob = REBUILD_AGE_TEXT.replace("age TEXT", "age BLOB");
    assert_eq!(lint(&to_blob, "SELECT 1;\n"), (vec!["S302".into()], 0));
}

#[test]
fn a_rebuild_counts_the_rows_of_a_reachable_database() {
    let p = project(REBUILD_AGE_TEXT, "SELECT 1;\n");
    p.run(&["upgrade", "1"]).ok();
    p.db()
        .execute_batch("INSERT INTO t (name) VALUES ('a'), ('b'), ('c');")
        .unwrap();
    let run = p.run(&["lint", "--since", "1"]).fails(1);
    assert!(
        run.stdout.contains(
            "warning[S302 table-rebuild]: rebuilds table 't' (3 row(s) in the database now)"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn renames_fire_but_not_as_drops_and_a_new_table_renamed_is_quiet() {
    assert_eq!(
        lint(
            "ALTER TABLE gone RENAME TO kept;\n",
            "ALTER TABLE kept RENAME TO gone;\n"
        ),
        (vec!["S201".into()], 1)
    );
    assert_eq!(
        lint(
            "ALTER TABLE t RENAME COLUMN note TO remark;\n",
            "ALTER TABLE t RENAME COLUMN remark TO note;\n"
        ),
        (vec!["S202".into()], 1)
    );
    assert_eq!(
        lint(
            "CREATE TABLE tmp (x);\nALTER TABLE tmp RENAME TO tmp2;\n",
            "DROP TABLE tmp2;\n"
        ),
        (vec![], 0)
    );
}

#[test]
fn not_null_without_default_fires_on_existing_tables_only() {
    let rebuild = "CREATE TABLE t_new (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, note TEXT, req TEXT NOT NULL);
INSERT INTO t_new (id, name, age, note, req) SELECT id, name, age, note, 'x' FROM t;
DROP TABLE t;
ALTER TABLE t_new RENAME TO t;
";
    let (codes, code) = lint(rebuild, "SELECT 1;\n");
    assert!(codes.contains(&"S203".to_string()), "{codes:?}");
    assert_eq!(code, 1);
    assert_eq!(
        lint(
            "ALTER TABLE t ADD COLUMN flag INTEGER NOT NULL DEFAULT 0;\n",
            "ALTER TABLE t DROP COLUMN flag;\n"
        ),
        (vec![], 0)
    );
    assert_eq!(
        lint(
            "CREATE TABLE fresh (x TEXT NOT NULL);\n",
            "DROP TABLE fresh;\n"
        ),
        (vec![], 0)
    );
}

#[test]
fn constraints_over_existing_rows_warn_and_on_a_new_table_do_not() {
    assert_eq!(
        lint(
            "CREATE UNIQUE INDEX t_name ON t (name);\n",
            "DROP INDEX t_name;\n"
        ),
        (vec!["S301".into()], 0)
    );
    assert_eq!(
        lint(
            "CREATE TABLE u (x);\nCREATE UNIQUE INDEX u_x ON u (x);\n",
            "DROP TABLE u;\n"
        ),
        (vec![], 0)
    );
    let check = REBUILD_AGE_TEXT.replace("age TEXT", "age INTEGER CHECK (age >= 0)");
    let (codes, _) = lint(&check, "SELECT 1;\n");
    assert_eq!(codes, ["S302", "S301"]);
}

#[test]
fn an_empty_down_fires() {
    assert_eq!(
        lint("CREATE TABLE e (x);\n", "-- nothing to undo?\n"),
        (vec!["S401".into()], 1)
    );
    assert_eq!(
        lint("CREATE TABLE e (x);\n", "DROP TABLE e;\n"),
        (vec![], 0)
    );
}

#[test]
fn random_and_the_clock_in_data_changes_warn_and_in_defaults_do_not() {
    let (codes, code) = lint(
        "UPDATE t SET note = datetime('now');\nINSERT INTO t (name) VALUES (random());\nUPDATE t SET note = CURRENT_TIMESTAMP;\n",
        "SELECT 1;\n",
    );
    assert_eq!(
        (codes, code),
        (vec!["S501".into(), "S501".into(), "S501".into()], 0)
    );
    assert_eq!(
        lint(
            "UPDATE t SET note = 'fixed';\nCREATE TABLE d (at TEXT DEFAULT CURRENT_TIMESTAMP);\n",
            "DROP TABLE d;\n"
        ),
        (vec![], 0)
    );
}

#[test]
fn vacuum_and_pragmas_inside_the_transaction_fire_and_outside_do_not() {
    assert_eq!(lint("VACUUM;\n", "SELECT 1;\n"), (vec!["S502".into()], 1));
    assert_eq!(
        lint(
            "PRAGMA journal_mode = WAL;\nPRAGMA foreign_keys=OFF;\n",
            "SELECT 1;\n"
        ),
        (vec!["S502".into(), "S502".into()], 1)
    );
    assert_eq!(
        lint("PRAGMA foreign_key_check;\n", "SELECT 1;\n"),
        (vec![], 0)
    );
    let p = TestProject::new();
    p.write_revision("1", "base", "base", BASE, "SELECT 1;\n");
    std::fs::write(
        p.path("migrations/2_vacuum.up.sql"),
        "-- strata:revision 2\n-- strata:parent 1\n-- strata:transaction off\n\nVACUUM;\n",
    )
    .unwrap();
    std::fs::write(
        p.path("migrations/2_vacuum.down.sql"),
        "-- strata:revision 2\nSELECT 1;\n",
    )
    .unwrap();
    assert_eq!(lint_in(&p, &["lint", "--since", "1"]), (vec![], 0));
}

#[test]
fn an_up_that_does_not_apply_is_an_error() {
    let (codes, code) = lint("ALTER TABLE nothere ADD COLUMN x;\n", "SELECT 1;\n");
    assert_eq!((codes, code), (vec!["S002".into()], 1));
}

#[test]
fn allow_accepts_a_finding_with_a_reason_and_refuses_one_without() {
    let (codes, code) = lint(
        "-- strata:allow S102 nothing has read note since 2024\nALTER TABLE t DROP COLUMN note;\n",
        "ALTER TABLE t ADD COLUMN note TEXT;\n",
    );
    assert_eq!((codes, code), (vec!["S102+".into()], 0));
    // By name too, and from the down script.
    let (codes, _) = lint(
        "ALTER TABLE t DROP COLUMN note;\n",
        "-- strata:allow drop-column retired field\nALTER TABLE t ADD COLUMN note TEXT;\n",
    );
    assert_eq!(codes, ["S102+"]);
    let (codes, code) = lint(
        "-- strata:allow S102\nALTER TABLE t DROP COLUMN note;\n",
        "ALTER TABLE t ADD COLUMN note TEXT;\n",
    );
    assert_eq!((codes, code), (vec!["S102".into(), "S001".into()], 1));
    let (codes, _) = lint(
        "-- strata:allow S999 because\nCREATE TABLE z (x);\n",
        "DROP TABLE z;\n",
    );
    assert_eq!(codes, ["S001"]);
    let p = project(
        "-- strata:allow S102 nothing has read note since 2024\nALTER TABLE t DROP COLUMN note;\n",
        "ALTER TABLE t ADD COLUMN note TEXT;\n",
    );
    let run = p.run(&["lint"]).ok();
    assert!(
        run.stdout.contains("accepted[S102 drop-column]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("reason: nothing has read note since 2024"),
        "{}",
        run.stdout
    );
}

#[test]
fn since_a_revision_or_a_git_ref_lints_only_what_is_new() {
    let p = project("DROP TABLE gone;\n", "CREATE TABLE gone (x);\n");
    p.write_revision(
        "3",
        "2",
        "more",
        "ALTER TABLE t DROP COLUMN note;\n",
        "ALTER TABLE t ADD COLUMN note TEXT;\n",
    );
    let (codes, _) = lint_in(&p, &["lint"]);
    assert_eq!(codes, ["S101", "S102"]);
    let (codes, _) = lint_in(&p, &["lint", "--since", "2"]);
    assert_eq!(codes, ["S102"]);
    let run = p.run(&["lint", "--since", "nope"]).fails(2);
    assert!(
        run.error().contains("neither a revision nor a git ref"),
        "{}",
        run.stderr
    );

    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .current_dir(p.dir.path())
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
    };
    if git(&["--version"]).is_err() {
        eprintln!("SKIPPED since_a_git_ref: needs git");
        return;
    }
    git(&["init", "-q"]).unwrap();
    git(&[
        "add",
        "migrations/1_base.up.sql",
        "migrations/1_base.down.sql",
        "migrations/2_change.up.sql",
        "migrations/2_change.down.sql",
    ])
    .unwrap();
    git(&["commit", "-qm", "two revisions"]).unwrap();
    // Revision 3 is not committed yet: new relative to HEAD.
    let (codes, _) = lint_in(&p, &["lint", "--since", "HEAD"]);
    assert_eq!(codes, ["S102"]);
}

#[test]
fn the_bundled_demo_is_clean() {
    let p = TestProject::microblog();
    let run = p.run(&["lint"]).ok();
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains("lint: 2 revision(s), 0 error(s)"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_autogenerated_drop_is_caught() {
    let p = TestProject::microblog();
    p.run(&["upgrade"]).ok();
    let schema = std::fs::read_to_string(p.path("schema.sql")).unwrap();
    std::fs::write(
        p.path("schema.sql"),
        schema.replace(",\n    password_hash VARCHAR(256)\n", "\n"),
    )
    .unwrap();
    let edited = std::fs::read_to_string(p.path("schema.sql")).unwrap();
    assert_ne!(edited, schema, "the fixture's schema.sql changed shape");
    p.run(&["migrate", "-m", "no password"]).ok();
    let run = p.run(&["lint", "--since", "20261126120000"]).fails(1);
    assert!(
        run.stdout.contains("drops column 'user.password_hash'"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_broken_older_revision_is_reported_not_skipped() {
    let p = project("CREATE TABLE n (x);\n", "DROP TABLE n;\n");
    std::fs::write(
        p.up_file("1"),
        "-- strata:revision 1\n-- strata:parent base\n\nCREATE TABLE t (;\n",
    )
    .unwrap();
    let (codes, code) = lint_in(&p, &["lint", "--since", "1"]);
    assert_eq!((codes, code), (vec!["S002".into()], 1));
}
