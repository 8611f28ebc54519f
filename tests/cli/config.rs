//! Finding the project and its database (docs/design.md §1).

use std::ffi::OsStr;

use crate::common::*;

#[test]
fn database_resolution_order() {
    let p = TestProject::microblog();
    std::fs::create_dir(p.path("data")).unwrap();
    p.run_with(
        &["upgrade", "+1"],
        &[("DATABASE_URL", "sqlite:///data/env.db")],
    )
    .ok();
    assert!(p.path("data/env.db").is_file());
    assert!(!p.db_path().exists());
    let abs = p.path("data/abs.db");
    let url = format!("sqlite:///{}", abs.display());
    p.run_with(&["upgrade"], &[("DATABASE_URL", &url)]).ok();
    assert!(abs.is_file());
    p.run_with(
        &["-d", "data/flag.db", "upgrade"],
        &[("DATABASE_URL", "sqlite:///data/env.db")],
    )
    .ok();
    assert!(p.path("data/flag.db").is_file());
    assert_eq!(
        applied(&rusqlite::Connection::open(p.path("data/env.db")).unwrap()).len(),
        1
    );
    p.run_with(&["upgrade"], &[("DATABASE_URL", "data/plain.db")])
        .ok();
    assert!(p.path("data/plain.db").is_file());
    p.run(&["upgrade"]).ok();
    assert!(p.db_path().is_file());
}

#[test]
fn global_options_before_or_after_the_subcommand() {
    let p = TestProject::microblog();
    p.run(&["upgrade", "--database", "one.db"]).ok();
    p.run(&["--database", "two.db", "upgrade"]).ok();
    p.run(&["-q", "upgrade", "-d", "three.db", "--format", "json"])
        .ok();
    for db in ["one.db", "two.db", "three.db"] {
        assert!(p.path(db).is_file(), "{db}");
    }
}

#[test]
fn finds_the_project_upward_or_by_flag() {
    let p = TestProject::microblog();
    let sub = p.path("app/templates");
    std::fs::create_dir_all(&sub).unwrap();
    run_in(&sub, &os(&["upgrade"])).ok();
    assert!(
        p.db_path().is_file(),
        "the database is relative to strata.toml, not the working directory"
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let flag_c = [
        OsStr::new("-C"),
        p.dir.path().as_os_str(),
        OsStr::new("current"),
    ];
    assert!(run_in(elsewhere.path(), &flag_c)
        .ok()
        .stdout
        .contains("(head)"));
    let config = p.path("strata.toml");
    let flag_config = [
        OsStr::new("--config"),
        config.as_os_str(),
        OsStr::new("current"),
    ];
    run_in(elsewhere.path(), &flag_config).ok();
}

#[test]
fn configuration_errors_exit_2() {
    let empty = tempfile::tempdir().unwrap();
    let run = run_in(empty.path(), &os(&["current"])).fails(2);
    let stderr = run.stderr;
    assert!(
        stderr.starts_with("error: no strata.toml found"),
        "{stderr}"
    );
    assert!(stderr.contains("strata init"), "{stderr}");

    let p = TestProject::microblog();
    for url in [
        "postgresql://user@host/db",
        "sqlite:///:memory:",
        "mysql://host/x.db",
    ] {
        let run = p.run_with(&["upgrade"], &[("DATABASE_URL", url)]).fails(2);
        assert!(
            run.error().contains("invalid database URL"),
            "{}",
            run.stderr
        );
    }
    std::fs::write(p.path("strata.toml"), "databse = \"app.db\"\n").unwrap();
    let run = p.run(&["current"]).fails(2);
    assert!(run.error().contains("unknown field"), "{}", run.stderr);
    std::fs::write(p.path("strata.toml"), "schema = \"schema.sql\"\n").unwrap();
    let run = p.run(&["upgrade"]).fails(2);
    assert!(
        run.error().contains("no database configured"),
        "{}",
        run.stderr
    );
    // history works without a database.
    p.run(&["history"]).ok();
    let run = p.run(&["-C", "does/not/exist", "current"]).fails(2);
    assert!(run.error().contains("does not exist"));
}

#[test]
fn database_path_with_spaces_and_unicode() {
    let p = TestProject::microblog();
    std::fs::create_dir(p.path("my data")).unwrap();
    p.run(&["-d", "my data/größe café.db", "upgrade"]).ok();
    assert!(p.path("my data/größe café.db").is_file());
    let run = p.run(&["-d", "my data/größe café.db", "current"]).ok();
    assert!(run.stdout.contains("(head)"));
}
