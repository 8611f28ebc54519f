//! `strata squash`: one revision for base..REV, and every database —
//! at base, at REV, part-way, ahead — still reaching the same schema.

use crate::common::*;

/// r1..r3 build `a` (with a seed row and a backfill) and `b`; r4 follows.
fn project() -> TestProject {
    let p = TestProject::new();
    p.write_revision(
        "1",
        "base",
        "a",
        "CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT);\nINSERT INTO a (id, x) VALUES (1, 'seed');\n",
        "DROP TABLE a;\n",
    );
    p.write_revision(
        "2",
        "1",
        "a y",
        "ALTER TABLE a ADD COLUMN y INTEGER NOT NULL DEFAULT 0;\nCREATE INDEX a_x ON a (x);\n",
        "DROP INDEX a_x;\nALTER TABLE a DROP COLUMN y;\n",
    );
    p.write_revision(
        "3",
        "2",
        "b",
        "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));\nUPDATE a SET y = 7;\n",
        "DROP TABLE b;\n",
    );
    p.write_revision(
        "4",
        "3",
        "c",
        "CREATE TABLE c (id INTEGER PRIMARY KEY);\n",
        "DROP TABLE c;\n",
    );
    p
}

fn upgrade(p: &TestProject, db: &str, target: &str) {
    p.run(&["-d", db, "upgrade", target]).ok();
}

fn rows_of_a(p: &TestProject, db: &str) -> Vec<(i64, String, i64)> {
    let conn = p.db_at(&p.path(db));
    let mut stmt = conn.prepare("SELECT id, x, y FROM a ORDER BY id").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn shelf(p: &TestProject) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(p.path("migrations/squashed"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn data_steps_need_a_decision_and_nothing_is_written_without_one() {
    let p = project();
    let before = std::fs::read_dir(p.path("migrations")).unwrap().count();
    let run = p.run(&["squash", "--to", "3"]).fails(1);
    assert!(
        run.error().contains("2 revision(s) in base..3 change data"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("1_a.up.sql:7: INSERT INTO a"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("3_b.up.sql:7: UPDATE a SET y = 7"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("strata squash --to 3 --data keep"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("strata squash --to 3 --data drop"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_dir(p.path("migrations")).unwrap().count(),
        before
    );
    assert!(shelf(&p).is_empty());
}

#[test]
fn every_database_reaches_the_same_schema_at_base_at_rev_part_way_and_ahead() {
    let p = project();
    upgrade(&p, "at_rev.db", "3");
    upgrade(&p, "part_way.db", "1");
    upgrade(&p, "ahead.db", "4");
    upgrade(&p, "original.db", "head");

    let run = p
        .run(&[
            "squash", "--to", "3", "--data", "keep", "--rev-id", "9", "--each", "*.db",
        ])
        .ok();
    assert_eq!(run.stdout.trim(), "9");
    assert!(
        run.stderr.contains("part_way.db: part-way"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("at_rev.db: past the squashed range"),
        "{}",
        run.stderr
    );
    assert_eq!(
        shelf(&p),
        [
            "1_a.down.sql",
            "1_a.up.sql",
            "2_a_y.down.sql",
            "2_a_y.up.sql",
            "3_b.down.sql",
            "3_b.up.sql"
        ]
    );
    let up = std::fs::read_to_string(p.up_file("9")).unwrap();
    assert!(up.contains("-- strata:replaces 1, 2, 3"), "{up}");
    assert!(up.contains("-- data kept from 1"), "{up}");

    // At REV: the squash, with nothing of the range to run again.
    let current = p.run(&["-d", "at_rev.db", "current"]).ok();
    assert!(current.stdout.starts_with("9"), "{}", current.stdout);
    let run = p.run(&["-d", "at_rev.db", "upgrade"]).ok();
    assert!(run.stderr.contains("-> 4, c"), "{}", run.stderr);
    assert!(!run.stderr.contains("-> 9"), "{}", run.stderr);
    // Part-way: through the old files, then on.
    let current = p.run(&["-d", "part_way.db", "current"]).ok();
    assert!(current.stdout.starts_with("1"), "{}", current.stdout);
    let run = p.run(&["-d", "part_way.db", "upgrade"]).ok();
    for step in ["1 -> 2, a y", "2 -> 3, b", "-> 4, c"] {
        assert!(run.stderr.contains(step), "{step}: {}", run.stderr);
    }
    assert!(run.stderr.contains("is now at 4 (head)"), "{}", run.stderr);
    // Ahead: nothing to do.
    let run = p.run(&["-d", "ahead.db", "upgrade"]).ok();
    assert!(!run.stderr.contains("Running"), "{}", run.stderr);
    // At base: the squash, then the rest.
    let run = p.run(&["-d", "fresh.db", "upgrade"]).ok();
    assert!(run.stderr.contains("base -> 9"), "{}", run.stderr);
    assert_eq!(applied(&p.db_at(&p.path("fresh.db"))), ["4", "9"]);

    let want = user_schema(&p.db_at(&p.path("original.db")));
    for db in ["at_rev.db", "part_way.db", "ahead.db", "fresh.db"] {
        assert_eq!(user_schema(&p.db_at(&p.path(db))), want, "{db}");
        assert_eq!(rows_of_a(&p, db), [(1, "seed".to_string(), 7)], "{db}");
    }
    p.run(&["verify"]).ok();

    // Reverting the squash on a database that ran the old files removes
    // their rows too: at base means at base.
    p.run(&["-d", "at_rev.db", "downgrade", "base"]).ok();
    assert!(applied(&p.db_at(&p.path("at_rev.db"))).is_empty());
    assert!(user_schema(&p.db_at(&p.path("at_rev.db"))).is_empty());
    p.run(&["-d", "at_rev.db", "upgrade"]).ok();
    assert_eq!(user_schema(&p.db_at(&p.path("at_rev.db"))), want);
}

#[test]
fn data_drop_leaves_the_rows_out_and_says_so() {
    let p = project();
    let run = p
        .run(&["squash", "--to", "3", "--data", "drop", "--rev-id", "9"])
        .ok();
    assert!(
        run.stderr
            .contains("data step dropped: migrations/1_a.up.sql:7"),
        "{}",
        run.stderr
    );
    let up = std::fs::read_to_string(p.up_file("9")).unwrap();
    assert!(!up.contains("INSERT"), "{up}");
    p.run(&["upgrade"]).ok();
    assert_eq!(p.query_i64("SELECT count(*) FROM a"), 0);
}

#[test]
fn prune_waits_for_part_way_databases_and_squashed_databases_keep_working() {
    let p = project();
    upgrade(&p, "at_rev.db", "3");
    upgrade(&p, "part_way.db", "2");
    p.run(&["squash", "--to", "3", "--data", "keep", "--rev-id", "9"])
        .ok();
    let run = p.run(&["squash", "--prune", "--each", "*.db"]).fails(1);
    assert!(run.error().contains("part_way.db"), "{}", run.stderr);
    assert!(
        run.stderr.contains("hint: run `strata upgrade`"),
        "{}",
        run.stderr
    );
    assert_eq!(shelf(&p).len(), 6);

    // The hint, followed: upgrade it, then prune.
    p.run(&["-d", "part_way.db", "upgrade"]).ok();
    let run = p.run(&["squash", "--prune", "--each", "*.db"]).ok();
    assert!(
        run.stderr.contains("Removed 6 squashed file(s)"),
        "{}",
        run.stderr
    );
    assert!(!p.path("migrations/squashed").exists());

    // A database that ran the old files is at the squash without them.
    let current = p.run(&["-d", "at_rev.db", "current"]).ok();
    assert!(current.stdout.starts_with("9"), "{}", current.stdout);
    p.run(&["-d", "at_rev.db", "upgrade"]).ok();
    p.run(&["-d", "part_way.db", "upgrade"]).ok();
    assert_eq!(
        user_schema(&p.db_at(&p.path("at_rev.db"))),
        user_schema(&p.db_at(&p.path("part_way.db")))
    );
    p.run(&["-d", "at_rev.db", "history"]).ok();
}

#[test]
fn a_part_way_database_after_a_prune_is_told_where_the_files_went() {
    let p = project();
    upgrade(&p, "part_way.db", "1");
    p.run(&["squash", "--to", "3", "--data", "keep", "--rev-id", "9"])
        .ok();
    std::fs::remove_dir_all(p.path("migrations/squashed")).unwrap();
    let before = std::fs::read(p.path("part_way.db")).unwrap();
    let run = p.run(&["-d", "part_way.db", "upgrade"]).fails(1);
    assert!(
        run.error()
            .contains("part-way through the revisions squash 9 replaces"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("git log --diff-filter=D"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(p.path("part_way.db")).unwrap(), before);
}

#[test]
fn a_branch_inside_the_range_is_refused() {
    let p = project();
    p.write_revision("5", "2", "side", "CREATE TABLE s (x);\n", "DROP TABLE s;\n");
    let run = p.run(&["squash", "--to", "3", "--data", "keep"]).fails(1);
    assert!(
        run.error().contains("revision 5 branches off 2"),
        "{}",
        run.stderr
    );
    assert!(shelf(&p).is_empty());
    let run = p.run(&["squash", "--to", "1"]).fails(2);
    assert!(run.error().contains("nothing to squash"), "{}", run.stderr);
}

#[test]
fn a_squash_of_a_squash_still_carries_the_oldest_databases() {
    let p = project();
    upgrade(&p, "oldest.db", "1");
    upgrade(&p, "middle.db", "4");
    p.run(&["squash", "--to", "3", "--data", "keep", "--rev-id", "9"])
        .ok();
    p.write_revision("95", "4", "d", "CREATE TABLE d (x);\n", "DROP TABLE d;\n");
    p.run(&["squash", "--to", "95", "--data", "keep", "--rev-id", "99"])
        .ok();
    let up = std::fs::read_to_string(p.up_file("99")).unwrap();
    assert!(up.contains("-- strata:replaces 9, 4, 95"), "{up}");
    for db in ["oldest.db", "middle.db", "fresh.db"] {
        p.run(&["-d", db, "upgrade"]).ok();
        let current = p.run(&["-d", db, "current"]).ok();
        assert!(current.stdout.starts_with("99"), "{db}: {}", current.stdout);
        assert_eq!(rows_of_a(&p, db), [(1, "seed".to_string(), 7)], "{db}");
    }
    assert_eq!(
        user_schema(&p.db_at(&p.path("oldest.db"))),
        user_schema(&p.db_at(&p.path("fresh.db")))
    );
    p.run(&["verify"]).ok();
}

#[test]
fn the_bundled_demo_squashes_and_check_and_verify_pass() {
    let p = TestProject::microblog();
    p.run(&["upgrade"]).ok();
    let json = p
        .run(&[
            "--format",
            "json",
            "squash",
            "--to",
            "head",
            "--rev-id",
            "20261201000000",
        ])
        .ok();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        v["replaces"],
        serde_json::json!(["20261126110405", "20261126120000"])
    );
    assert_eq!(v["databases"][0]["state"], "squashed");
    p.run(&["check"]).ok();
    p.run(&["verify"]).ok();
    let current = p.run(&["current"]).ok();
    assert!(
        current.stdout.starts_with("20261201000000 (head)"),
        "{}",
        current.stdout
    );
}

#[test]
fn prune_checks_the_fleet_strata_toml_names() {
    let p = project();
    std::fs::create_dir(p.path("tenants")).unwrap();
    upgrade(&p, "tenants/a.db", "3");
    upgrade(&p, "tenants/b.db", "1");
    let config = std::fs::read_to_string(p.path("strata.toml")).unwrap();
    std::fs::write(
        p.path("strata.toml"),
        format!("{config}\n[fleet]\ndatabases = [\"tenants/*.db\"]\n"),
    )
    .unwrap();
    let run = p
        .run(&["squash", "--to", "3", "--data", "keep", "--prune"])
        .fails(1);
    assert!(run.error().contains("tenants/b.db"), "{}", run.stderr);
    // Refused whole: nothing was written or moved.
    assert!(shelf(&p).is_empty());
    assert_eq!(std::fs::read_dir(p.path("migrations")).unwrap().count(), 8);
    p.run(&["squash", "--to", "3", "--data", "keep"]).ok();
    let run = p.run(&["squash", "--prune", "--dry-run"]).fails(1);
    assert!(run.error().contains("tenants/b.db"), "{}", run.stderr);
    p.run(&["upgrade", "--fleet"]).ok();
    let run = p.run(&["squash", "--prune", "--dry-run"]).ok();
    assert!(
        run.stderr.contains("Would remove 6 squashed file(s)"),
        "{}",
        run.stderr
    );
    assert_eq!(shelf(&p).len(), 6);
    p.run(&["squash", "--prune"]).ok();
    assert!(shelf(&p).is_empty());
}
