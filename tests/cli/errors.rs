//! Every bad input: a non-zero exit, one `error:` line, the database's bytes
//! unchanged.

use crate::common::*;

const USERS: &str = "20261126110405";
const POSTS: &str = "20261126120000";

/// A microblog project at its first revision, and the database's bytes.
fn at_users() -> (TestProject, Vec<u8>) {
    let p = TestProject::microblog();
    p.run(&["upgrade", "+1"]).ok();
    let bytes = p.db_bytes();
    (p, bytes)
}

#[track_caller]
fn refused(p: &TestProject, before: &[u8], args: &[&str], code: i32, needle: &str) -> Run {
    let run = p.run(args).fails(code);
    assert!(
        run.error().contains(needle),
        "{args:?}: expected {needle:?} in\n{}",
        run.stderr
    );
    assert_eq!(p.db_bytes(), before, "{args:?} changed the database");
    run
}

/// How to break a project, and what the error must say.
type Breakage = (&'static str, Box<dyn Fn(&TestProject)>, &'static str);

#[test]
fn broken_revision_files() {
    let cases: Vec<Breakage> = vec![
        (
            "missing header",
            Box::new(|p| {
                std::fs::write(
                    p.path("migrations/20261127000000_x.up.sql"),
                    "CREATE TABLE x (y);\n",
                )
                .unwrap()
            }),
            "missing header",
        ),
        (
            "up without down",
            Box::new(|p| std::fs::remove_file(p.down_file(POSTS)).unwrap()),
            "no down script",
        ),
        (
            "down without up",
            Box::new(|p| std::fs::remove_file(p.up_file(POSTS)).unwrap()),
            "no up script",
        ),
        (
            "duplicate ids",
            Box::new(|p| {
                std::fs::copy(
                    p.up_file(POSTS),
                    p.path(&format!("migrations/{POSTS}_copy.up.sql")),
                )
                .unwrap();
            }),
            "duplicate revision id",
        ),
        (
            "unknown parent",
            Box::new(|p| p.write_revision("20261127000000", "20200101000000", "orphan", "", "")),
            "does not exist",
        ),
        (
            "cycle",
            Box::new(|p| {
                p.write_revision("20261127000001", "20261127000002", "a", "", "");
                p.write_revision("20261127000002", "20261127000001", "b", "", "");
            }),
            "cycle",
        ),
        (
            "self parent",
            Box::new(|p| p.write_revision("20261127000003", "20261127000003", "me", "", "")),
            "cycle",
        ),
        (
            "header lies about its id",
            Box::new(|p| {
                let text = std::fs::read_to_string(p.up_file(POSTS)).unwrap();
                std::fs::write(
                    p.up_file(POSTS),
                    text.replace(&format!("revision {POSTS}"), "revision 20261126120001"),
                )
                .unwrap();
            }),
            "file name says",
        ),
        (
            "unknown directive",
            Box::new(|p| {
                let text = std::fs::read_to_string(p.up_file(POSTS)).unwrap();
                std::fs::write(
                    p.up_file(POSTS),
                    text.replace("strata:message", "strata:mesage"),
                )
                .unwrap();
            }),
            "unknown directive",
        ),
        (
            "not UTF-8",
            Box::new(|p| {
                std::fs::write(p.up_file(POSTS), b"-- strata:revision 1\xff\xfe\n").unwrap()
            }),
            "not UTF-8",
        ),
    ];
    for (name, breakit, needle) in cases {
        let (p, before) = at_users();
        breakit(&p);
        for args in [&["upgrade"][..], &["history"], &["current"]] {
            let run = p.run(args);
            assert_eq!(run.code, 1, "{name}: {args:?}\n{}", run.stderr);
            let run = run.fails(1);
            assert!(
                run.error().contains(needle),
                "{name}: expected {needle:?} in {}",
                run.stderr
            );
            assert_eq!(
                p.db_bytes(),
                before,
                "{name}: {args:?} changed the database"
            );
        }
    }
}

#[test]
fn bad_targets() {
    let (p, before) = at_users();
    refused(&p, &before, &["upgrade", "99"], 2, "unknown revision '99'");
    refused(&p, &before, &["upgrade", "../etc"], 2, "invalid target");
    refused(&p, &before, &["upgrade", "+5"], 1, "only 1 can be upgraded");
    refused(&p, &before, &["upgrade", "-1"], 2, "downgrade");
    refused(&p, &before, &["downgrade", "+1"], 2, "upgrade");
    refused(&p, &before, &["downgrade", POSTS], 1, "not applied");
    refused(
        &p,
        &before,
        &["downgrade", "-3"],
        1,
        "only 1 can be downgraded",
    );
    refused(&p, &before, &["show", "nope"], 2, "unknown revision");
    refused(&p, &before, &["stamp", "nope"], 2, "unknown revision");
    refused(
        &p,
        &before,
        &["upgrade", "--bogus"],
        2,
        "unexpected argument",
    );
    refused(&p, &before, &["frobnicate"], 2, "unrecognized subcommand");
    refused(
        &p,
        &before,
        &["revision", "-m", "two\nlines"],
        1,
        "single line",
    );
    refused(
        &p,
        &before,
        &["revision", "-m", "x", "--rev-id", "../../x"],
        1,
        "invalid revision id",
    );
    refused(
        &p,
        &before,
        &["revision", "-m", "x", "--rev-id", USERS],
        1,
        "already exists",
    );
    // With no database to start from, a downgrade script needs its range.
    let fresh = TestProject::microblog();
    let run = fresh.run(&["downgrade", "--sql"]).fails(2);
    assert!(run.error().contains("FROM:TO"), "{}", run.stderr);
    assert!(!fresh.db_path().exists());
    p.run(&["upgrade"]).ok();
    let at_head = p.db_bytes();
    let run = refused(
        &p,
        &at_head,
        &["upgrade", USERS],
        1,
        "behind the current revision",
    );
    assert!(
        run.stderr.contains(&format!("strata downgrade {USERS}")),
        "{}",
        run.stderr
    );
    let run = p.run(&["upgrade"]).ok();
    assert!(run.stderr.contains("Nothing to upgrade"), "{}", run.stderr);
}

#[test]
fn ambiguous_prefix_lists_candidates() {
    let (p, before) = at_users();
    let run = refused(&p, &before, &["upgrade", "202611261"], 2, "ambiguous");
    assert!(
        run.error().contains(USERS) && run.error().contains(POSTS),
        "{}",
        run.stderr
    );
    p.write_revision("20261126120001", POSTS, "third", "", "");
    let run = refused(&p, &before, &["show", "202611261200"], 2, "ambiguous");
    assert!(
        run.error().contains(POSTS) && run.error().contains("20261126120001"),
        "{}",
        run.stderr
    );
}

#[test]
fn modified_applied_revision_stops_upgrade_and_downgrade() {
    let (p, before) = at_users();
    let up = p.up_file(USERS);
    let text = std::fs::read_to_string(&up).unwrap();
    std::fs::write(&up, text.clone() + "-- an edit\n").unwrap();
    let run = refused(&p, &before, &["upgrade"], 1, "was modified after revision");
    assert!(run.stderr.contains("--ignore-checksums"));
    refused(&p, &before, &["downgrade"], 1, "was modified");
    let history = p.run(&["history"]).ok();
    assert!(history.stdout.contains("MODIFIED"), "{}", history.stdout);
    p.run(&["upgrade", "--ignore-checksums"]).ok();
    assert_eq!(p.applied(), [USERS, POSTS]);
    std::fs::write(&up, text).unwrap();
    p.run(&["downgrade", "base"]).ok();
}

#[test]
fn applied_revision_whose_file_is_gone() {
    let (p, before) = at_users();
    let up = p.up_file(USERS);
    let down = p.down_file(USERS);
    let posts_up = p.up_file(POSTS);
    let posts_down = p.down_file(POSTS);
    for f in [&up, &down, &posts_up, &posts_down] {
        std::fs::remove_file(f).unwrap();
    }
    refused(&p, &before, &["upgrade"], 1, "no revision file defines it");
    refused(&p, &before, &["current"], 1, "no revision file defines it");
    let history = p.run(&["history"]).ok();
    assert!(history.stdout.contains("MISSING"), "{}", history.stdout);
}

#[test]
fn several_heads_refuse_upgrade_until_merged() {
    let (p, before) = at_users();
    p.write_revision(
        "20261126130000",
        USERS,
        "tags table",
        "CREATE TABLE tag (name TEXT);\n",
        "DROP TABLE tag;\n",
    );
    let run = refused(&p, &before, &["upgrade"], 1, "2 heads");
    assert!(run.stderr.contains("strata merge"), "{}", run.stderr);
    refused(&p, &before, &["revision", "-m", "x"], 1, "2 heads");
    let heads = p.run(&["heads"]).ok();
    assert!(heads.stdout.contains(POSTS) && heads.stdout.contains("20261126130000"));
    let branches = p.run(&["branches"]).ok();
    assert!(branches.stdout.contains(USERS), "{}", branches.stdout);

    let merge = p.run(&["merge", "-m", "merge heads"]).ok();
    let merge_id = merge.stdout.trim().to_string();
    let up = std::fs::read_to_string(p.up_file(&merge_id)).unwrap();
    assert!(
        up.contains(&format!("parent   {POSTS}, 20261126130000")),
        "{up}"
    );
    p.run(&["upgrade"]).ok();
    assert_eq!(p.applied().len(), 4);
    assert_eq!(
        p.run(&["current"]).ok().stdout.trim(),
        format!("{merge_id} (head)")
    );
    // Reverting the merge leaves the database on both branches.
    p.run(&["downgrade"]).ok();
    let current = p.run(&["current"]).ok().stdout;
    assert!(
        current.contains(POSTS) && current.contains("20261126130000"),
        "{current}"
    );
    let bytes = p.db_bytes();
    refused(&p, &bytes, &["downgrade", "-1"], 1, "several revisions");
    p.run(&["downgrade", USERS]).ok();
    assert_eq!(p.applied(), [USERS]);
    p.run(&["upgrade"]).ok();
    assert_eq!(p.applied().len(), 4);
    let again = p.run(&["merge"]).fails(1);
    assert!(again.error().contains("single head"));
}

#[test]
fn not_a_database() {
    let p = TestProject::microblog();
    std::fs::write(p.db_path(), "this is a text file, not SQLite\n".repeat(100)).unwrap();
    let before = p.db_bytes();
    refused(&p, &before, &["upgrade"], 1, "not a database");
    refused(&p, &before, &["current"], 1, "not a database");
}

#[test]
fn newer_bookkeeping_is_refused() {
    let p = TestProject::microblog();
    p.run(&["upgrade", "+1"]).ok();
    p.db()
        .execute(
            "UPDATE strata_meta SET value = '99' WHERE key = 'bookkeeping_version'",
            [],
        )
        .unwrap();
    let before = p.db_bytes();
    refused(&p, &before, &["upgrade"], 1, "newer strata");
}
