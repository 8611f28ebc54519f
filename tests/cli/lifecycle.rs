//! The seed chapter's workflow with the repository's hand-written revisions.

use crate::common::*;

const USERS: &str = "20261126110405";
const POSTS: &str = "20261126120000";

#[test]
fn seed_lifecycle() {
    let p = TestProject::microblog();
    let run = p.run(&["upgrade"]).ok();
    assert_eq!(p.applied(), [USERS, POSTS]);
    assert!(
        run.stderr
            .contains(&format!("Running upgrade base -> {USERS}, users table")),
        "{}",
        run.stderr
    );
    assert!(run
        .stderr
        .contains(&format!("Running upgrade {USERS} -> {POSTS}, posts table")));
    let tables: Vec<String> = user_schema(&p.db())
        .into_iter()
        .map(|(_, n, _)| n)
        .collect();
    assert_eq!(
        tables,
        [
            "ix_post_timestamp",
            "ix_post_user_id",
            "ix_user_email",
            "ix_user_username",
            "post",
            "user"
        ]
    );

    let history = p.run(&["history"]).ok();
    let first = history.stdout.lines().nth(2).unwrap();
    assert!(
        first.contains(POSTS) && first.contains("head, current") && first.contains("applied"),
        "{}",
        history.stdout
    );
    assert_eq!(
        p.run(&["current"]).ok().stdout.trim(),
        format!("{POSTS} (head)")
    );

    // The users John and Susan and one post, as in the chapter.
    p.db()
        .execute_batch(
            "INSERT INTO user (username, email) VALUES ('john', 'john@example.com'), ('susan', 'susan@example.com');
             INSERT INTO post (body, user_id) VALUES ('my first post!', 1);",
        )
        .unwrap();

    p.run(&["downgrade"]).ok();
    assert_eq!(p.applied(), [USERS]);
    assert_eq!(
        p.query_i64("SELECT count(*) FROM user"),
        2,
        "users survive reverting the posts table"
    );
    assert_eq!(p.run(&["current"]).ok().stdout.trim(), USERS);

    p.run(&["downgrade", "base"]).ok();
    assert!(p.applied().is_empty());
    assert!(user_schema(&p.db()).is_empty());
    assert!(p.run(&["current"]).ok().stdout.starts_with("base"));

    p.run(&["upgrade"]).ok();
    assert_eq!(p.applied(), [USERS, POSTS]);
    let log: i64 = p.query_i64("SELECT count(*) FROM strata_log");
    assert_eq!(
        log, 6,
        "every upgrade and downgrade step is in the audit log"
    );
}

#[test]
fn relative_targets_and_prefixes() {
    let p = TestProject::microblog();
    p.run(&["upgrade", "+1"]).ok();
    assert_eq!(p.applied(), [USERS]);
    p.run(&["upgrade", "20261126120"]).ok();
    assert_eq!(p.applied(), [USERS, POSTS]);
    p.run(&["downgrade", "-2"]).ok();
    assert!(p.applied().is_empty());
    let run = p.run(&["downgrade", "-1"]).fails(1);
    assert!(run.error().contains("-1"), "{}", run.stderr);
}

#[test]
fn revision_builds_on_head_and_runs() {
    let p = TestProject::microblog();
    let run = p.run(&["revision", "-m", "seed admin user"]).ok();
    let id = run.stdout.trim().to_string();
    assert_eq!(id.len(), 14, "a UTC timestamp id: {id}");
    let up = std::fs::read_to_string(p.up_file(&id)).unwrap();
    assert!(up.contains(&format!("-- strata:parent   {POSTS}")), "{up}");
    assert!(p
        .up_file(&id)
        .to_string_lossy()
        .ends_with("_seed_admin_user.up.sql"));
    // A second revision in the same second gets the next id.
    let second = p
        .run(&["revision", "-m", "again"])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert!(second > id, "{second} > {id}");
    std::fs::write(
        p.up_file(&id),
        up + "INSERT INTO user (username, email) VALUES ('admin', 'admin@example.com');\n",
    )
    .unwrap();
    p.run(&["upgrade"]).ok();
    assert_eq!(
        p.query_i64("SELECT count(*) FROM user WHERE username = 'admin'"),
        1
    );
}

#[test]
fn stamp_sets_the_revision_without_running_scripts() {
    let p = TestProject::microblog();
    p.run(&["stamp", "head"]).ok();
    assert_eq!(p.applied(), [USERS, POSTS]);
    assert!(user_schema(&p.db()).is_empty(), "stamp runs no script");
    p.run(&["stamp", USERS]).ok();
    assert_eq!(p.applied(), [USERS]);
    p.run(&["stamp", "base"]).ok();
    assert!(p.applied().is_empty());
    assert_eq!(
        p.query_i64("SELECT count(*) FROM strata_log WHERE direction = 'stamp'"),
        3
    );
}

#[test]
fn json_output_is_one_document() {
    let p = TestProject::microblog();
    let run = p.run(&["upgrade", "--format", "json"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["steps"].as_array().unwrap().len(), 2);
    assert_eq!(doc["current"][0], POSTS);
    for cmd in [
        &["history"][..],
        &["current"],
        &["heads"],
        &["branches"],
        &["show"],
    ] {
        let mut args = cmd.to_vec();
        args.extend(["--format", "json"]);
        let run = p.run(&args).ok();
        serde_json::from_str::<serde_json::Value>(&run.stdout)
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}\n{}", run.stdout));
    }
    let history: serde_json::Value =
        serde_json::from_str(&p.run(&["history", "--format", "json"]).stdout).unwrap();
    assert_eq!(history["revisions"][0]["state"], "applied");
    let failed = p.run(&["show", "nope", "--format", "json"]).fails(2);
    let doc: serde_json::Value = serde_json::from_str(&failed.stdout).unwrap();
    assert_eq!(doc["exit_code"], 2);
}

#[test]
fn init_writes_a_project() {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), &os(&["init"])).ok();
    assert!(dir.path().join("strata.toml").is_file());
    assert!(dir.path().join("schema.sql").is_file());
    assert!(dir.path().join("migrations").is_dir());
    run_in(dir.path(), &os(&["init"])).fails(2);
    // An empty project: history works, upgrade has nothing to do.
    run_in(dir.path(), &os(&["history"])).ok();
    run_in(dir.path(), &os(&["upgrade"])).ok();
}

/// `current` reads the history first and opens only pending revisions'
/// files: an applied revision is shown as it was recorded.
#[test]
fn current_opens_only_pending_revision_files() {
    let p = TestProject::microblog();
    p.run(&["upgrade", "20261126110405"]).ok();
    // The applied revision's file loses its header: current does not read
    // it; every command that reads scripts does, and says so.
    let up = p.up_file("20261126110405");
    std::fs::write(&up, "garbage\n").unwrap();
    let run = p.run(&["current"]).ok();
    assert!(run.stdout.starts_with("20261126110405"), "{}", run.stdout);
    assert!(
        run.stderr.contains("1 revision(s) pending"),
        "{}",
        run.stderr
    );
    let run = p.run(&["history"]).fails(1);
    assert!(run.error().contains("missing header"), "{}", run.stderr);
    // A pending revision's file is read: its problems are current's too.
    let posts = p.up_file("20261126120000");
    std::fs::write(&posts, "-- strata:revision 20261126120000\n").unwrap();
    std::fs::write(
        &up,
        "-- strata:revision 20261126110405\n-- strata:parent base\n",
    )
    .unwrap();
    let run = p.run(&["current"]).fails(1);
    assert!(
        run.error().contains("missing `-- strata:parent` line"),
        "{}",
        run.stderr
    );
}
