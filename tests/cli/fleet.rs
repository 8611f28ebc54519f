//! A fleet of tenant databases through the real binary: every fault the
//! fleet issue lists, each tenant checked on its real file afterwards.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common::{applied, integrity_ok, signal, strata_cmd, Run, TestProject};

const FIRST: &str = "20261126110405";
const HEAD: &str = "20261126120000";

/// The microblog project with `n` empty tenant databases in tenants/.
fn fleet(n: usize) -> TestProject {
    let p = TestProject::microblog();
    std::fs::create_dir(p.path("tenants")).unwrap();
    let template = p.path("tenants/template.sqlite");
    rusqlite::Connection::open(&template)
        .unwrap()
        .execute_batch("PRAGMA user_version = 1")
        .unwrap();
    for i in 0..n {
        std::fs::copy(&template, tenant(&p, i)).unwrap();
    }
    std::fs::remove_file(template).unwrap();
    p
}

fn tenant(p: &TestProject, i: usize) -> PathBuf {
    p.path(&format!("tenants/t{i:05}.db"))
}

fn at(path: &Path) -> Vec<String> {
    applied(&rusqlite::Connection::open(path).unwrap())
}

/// JSON Lines: one object per tenant, then `{"summary": …}`.
fn lines(run: &Run) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut docs: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let summary = docs.pop().expect("a summary line");
    (docs, summary["summary"].clone())
}

fn failed_with<'a>(tenants: &'a [serde_json::Value], name: &str) -> &'a str {
    tenants
        .iter()
        .find(|t| t["database"].as_str().unwrap().ends_with(name))
        .filter(|t| t["status"] == "failed")
        .and_then(|t| t["error"].as_str())
        .unwrap_or_else(|| panic!("{name} did not fail: {tenants:?}"))
}

#[test]
fn a_fleet_comes_to_head_from_different_revisions() {
    let p = fleet(12);
    // Tenants at base, at the first revision, and at head.
    p.run(&["upgrade", "+1", "--each", "tenants/t0000[0-3].db"])
        .ok();
    p.run(&["upgrade", "--each", "tenants/t0000[4-5].db"]).ok();
    let current = p.run(&["current", "--each", "tenants/*.db"]).ok();
    assert!(
        current.stdout.contains("       6  base"),
        "{}",
        current.stdout
    );
    assert!(
        current.stdout.contains(&format!("       4  {FIRST}")),
        "{}",
        current.stdout
    );
    assert!(
        current.stdout.contains(&format!("       2  {HEAD} (head)")),
        "{}",
        current.stdout
    );
    let run = p
        .run(&[
            "--format",
            "json",
            "upgrade",
            "--each",
            "tenants/*.db",
            "--jobs",
            "3",
        ])
        .ok();
    let (tenants, summary) = lines(&run);
    assert_eq!(tenants.len(), 12);
    assert_eq!(
        (summary["done"].as_u64(), summary["unchanged"].as_u64()),
        (Some(10), Some(2))
    );
    for i in 0..12 {
        assert_eq!(at(&tenant(&p, i)), [FIRST, HEAD], "tenant {i}");
    }
    // At head: a read each and no write.
    let before: Vec<Vec<u8>> = (0..12)
        .map(|i| std::fs::read(tenant(&p, i)).unwrap())
        .collect();
    let again = p.run(&["upgrade", "--each", "tenants/*.db"]).ok();
    assert!(
        again
            .stderr
            .contains("12 tenant(s): 0 changed, 12 already there, 0 failed"),
        "{}",
        again.stderr
    );
    let after: Vec<Vec<u8>> = (0..12)
        .map(|i| std::fs::read(tenant(&p, i)).unwrap())
        .collect();
    assert!(before == after, "a no-op pass wrote a tenant");
    // Downgrade and stamp over the fleet, named in strata.toml.
    let config = std::fs::read_to_string(p.path("strata.toml")).unwrap();
    std::fs::write(
        p.path("strata.toml"),
        format!("{config}\n[fleet]\ndatabases = [\"tenants/*.db\"]\n"),
    )
    .unwrap();
    p.run(&["downgrade", "--fleet"]).ok();
    assert_eq!(at(&tenant(&p, 7)), [FIRST]);
    p.run(&["stamp", "head", "--fleet"]).ok();
    assert_eq!(at(&tenant(&p, 7)), [FIRST, HEAD]);
    // Drift across the fleet: stamped at head without posts, every tenant
    // differs from its revisions; back at the first revision and upgraded,
    // none does — until one tenant's schema is changed by hand.
    let stamped = p.run(&["diff", "--against", "head", "--fleet"]);
    assert_eq!(stamped.code, 1);
    assert!(
        stamped.stderr.contains("12 tenant(s): 12 drifted"),
        "{}",
        stamped.stderr
    );
    p.run(&["stamp", FIRST, "--fleet"]).ok();
    p.run(&["upgrade", "--fleet"]).ok();
    p.run(&["diff", "--against", "head", "--fleet"]).ok();
    p.db_at(&tenant(&p, 9))
        .execute_batch("CREATE TABLE hand_made (x)")
        .unwrap();
    let drift = p.run(&["--format", "json", "diff", "--against", "head", "--fleet"]);
    assert_eq!(drift.code, 1, "{}", drift.stderr);
    let (tenants, summary) = lines(&drift);
    assert_eq!(
        (summary["done"].as_u64(), summary["unchanged"].as_u64()),
        (Some(1), Some(11))
    );
    let drifted = tenants.iter().find(|t| t["status"] == "done").unwrap();
    assert!(drifted["database"].as_str().unwrap().ends_with("t00009.db"));
    assert!(
        drifted["changes"].to_string().contains("hand_made"),
        "{drifted}"
    );
}

#[test]
fn failed_tenants_stop_new_ones_unless_told_to_keep_going() {
    let p = fleet(30);
    // A corrupt file, a tenant a newer build migrated, a missing file.
    std::fs::write(
        tenant(&p, 3),
        b"this is not a database, it only looks like one",
    )
    .unwrap();
    p.run(&["upgrade", "--each", "tenants/t00005.db"]).ok();
    p.db_at(&tenant(&p, 5))
        .execute_batch("INSERT INTO strata_history (revision, parents, message, up_sha256, down_sha256, applied_at, duration_ms) VALUES ('29990101000000', '20261126120000', 'from the future', 'x', 'x', '2999-01-01', 0)")
        .unwrap();
    let list = p.path("list.txt");
    let mut text: String = (0..30)
        .map(|i| format!("{}\n", tenant(&p, i).display()))
        .collect();
    text.push_str("tenants/missing.db\n# a comment, and a blank line\n\n");
    // The same file by another name counts once.
    text.push_str(&format!(
        "{}\n",
        p.path("tenants/../tenants/t00000.db").display()
    ));
    std::fs::write(&list, text).unwrap();

    // The default: one job, so the order is the list's and the stop exact.
    let stopped = p.run(&[
        "--format",
        "json",
        "upgrade",
        "--each-from",
        "list.txt",
        "--jobs",
        "1",
    ]);
    assert_eq!(stopped.code, 1, "{}", stopped.stderr);
    let (tenants, summary) = lines(&stopped);
    assert!(failed_with(&tenants, "t00003.db").contains("file is not a database"));
    assert_eq!(summary["not_started"].as_u64(), Some(27), "{summary}");
    assert_eq!(
        at(&tenant(&p, 10)),
        Vec::<String>::new(),
        "a tenant after the stop ran"
    );

    let going = p.run(&[
        "--format",
        "json",
        "upgrade",
        "--each-from",
        "list.txt",
        "--keep-going",
    ]);
    assert_eq!(going.code, 1);
    let (tenants, summary) = lines(&going);
    assert_eq!(summary["listed"].as_u64(), Some(31), "{summary}");
    assert_eq!(summary["failed"].as_u64(), Some(3), "{summary}");
    assert!(failed_with(&tenants, "t00005.db").contains("a newer build migrated it"));
    assert!(failed_with(&tenants, "missing.db").contains("does not exist"));
    assert!(
        !p.path("tenants/missing.db").exists(),
        "a fleet created a database"
    );
    assert_eq!(
        std::fs::read(tenant(&p, 3)).unwrap(),
        b"this is not a database, it only looks like one"
    );
    for i in (0..30).filter(|i| ![3, 5].contains(i)) {
        assert_eq!(at(&tenant(&p, i)), [FIRST, HEAD], "tenant {i}");
    }

    // A canary that fails stops the run before the rest start.
    let q = fleet(10);
    std::fs::write(tenant(&q, 0), b"corrupt").unwrap();
    let canary = q.run(&[
        "upgrade",
        "--each",
        "tenants/*.db",
        "--canary",
        "1",
        "--keep-going",
    ]);
    assert_eq!(canary.code, 1);
    assert!(canary.stderr.contains("9 not started"), "{}", canary.stderr);
    assert_eq!(at(&tenant(&q, 9)), Vec::<String>::new());
}

#[test]
fn a_locked_tenant_fails_after_the_lock_timeout_and_the_rest_go_on() {
    let p = fleet(4);
    let holder = p.db_at(&tenant(&p, 2));
    holder
        .execute_batch("BEGIN IMMEDIATE; CREATE TABLE app_busy (x);")
        .unwrap();
    let run = p.run(&[
        "--format",
        "json",
        "upgrade",
        "--each",
        "tenants/*.db",
        "--keep-going",
        "--lock-timeout",
        "1",
    ]);
    assert_eq!(run.code, 1);
    let (tenants, _) = lines(&run);
    assert!(
        failed_with(&tenants, "t00002.db").contains("locked"),
        "{tenants:?}"
    );
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(at(&tenant(&p, 2)), Vec::<String>::new());
    assert_eq!(at(&tenant(&p, 3)), [FIRST, HEAD]);
    // Once the application lets go, the same command finishes the rest.
    p.run(&["upgrade", "--each", "tenants/*.db"]).ok();
    assert_eq!(at(&tenant(&p, 2)), [FIRST, HEAD]);
}

#[test]
fn a_read_only_tenant_is_refused_untouched() {
    use std::os::unix::fs::PermissionsExt;
    let p = fleet(3);
    let mode = |path: &Path, m: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).unwrap()
    };
    mode(p.dir.path(), 0o755);
    mode(&p.path("migrations"), 0o755);
    mode(&p.path("tenants"), 0o777);
    for entry in std::fs::read_dir(p.dir.path())
        .unwrap()
        .chain(std::fs::read_dir(p.path("migrations")).unwrap())
    {
        let path = entry.unwrap().path();
        if path.is_file() {
            mode(&path, 0o644);
        }
    }
    for i in 0..3 {
        mode(&tenant(&p, i), 0o666);
    }
    mode(&tenant(&p, 1), 0o444);
    let bytes = std::fs::read(tenant(&p, 1)).unwrap();
    let mut cmd = strata_cmd();
    cmd.current_dir(p.dir.path()).args([
        "--format",
        "json",
        "upgrade",
        "--each",
        "tenants/*.db",
        "--keep-going",
    ]);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // root writes any file; as nobody the mode counts.
        cmd.uid(65534).gid(65534);
    }
    let Ok(out) = cmd.output() else {
        eprintln!("skipped: user nobody cannot run the strata binary here");
        return;
    };
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    if run.stdout.is_empty() {
        eprintln!(
            "skipped: user nobody cannot run the strata binary here ({})",
            run.stderr
        );
        return;
    }
    assert_eq!(run.code, 1, "{}", run.stderr);
    let (tenants, _) = lines(&run);
    assert!(
        failed_with(&tenants, "t00001.db").contains("read-only"),
        "{tenants:?}"
    );
    assert_eq!(std::fs::read(tenant(&p, 1)).unwrap(), bytes);
    assert_eq!(at(&tenant(&p, 0)), [FIRST, HEAD]);
}

/// A fleet whose third revision is slow enough to be caught in flight.
fn padded_fleet(n: usize) -> TestProject {
    let p = fleet(n);
    p.write_revision(
        "20261201000000",
        HEAD,
        "padding",
        "CREATE TABLE pad (id INTEGER PRIMARY KEY, b BLOB);\nWITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000)\nINSERT INTO pad SELECT i, randomblob(200) FROM c;\n",
        "DROP TABLE pad;\n",
    );
    p
}

/// Every tenant intact and at a revision boundary: the applied set a
/// prefix, and the padding table there exactly when its revision is
/// recorded, with all its rows. Counts tenants by revisions applied.
fn assert_boundaries(p: &TestProject, n: usize) -> [usize; 4] {
    let mut counts = [0usize; 4];
    for i in 0..n {
        let conn = p.db_at(&tenant(p, i));
        assert!(integrity_ok(&conn), "tenant {i}");
        let revs = applied(&conn);
        let pad: Option<i64> = conn
            .query_row("SELECT count(*) FROM pad", [], |r| r.get(0))
            .ok();
        assert_eq!(
            pad,
            (revs.len() == 3).then_some(3000),
            "tenant {i}: {revs:?}"
        );
        counts[revs.len()] += 1;
    }
    counts
}

#[test]
fn a_killed_fleet_run_leaves_every_tenant_at_a_boundary_and_a_rerun_finishes() {
    let p = padded_fleet(300);
    // A revision slow enough to be caught in flight: rows to copy.
    let mut child = strata_cmd()
        .current_dir(p.dir.path())
        .args(["upgrade", "--each", "tenants/*.db", "--jobs", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    signal(&child, libc::SIGKILL);
    let _ = child.wait();
    let counts = assert_boundaries(&p, 300);
    assert!(
        counts[3] < 300,
        "the kill came too late to test anything: {counts:?}"
    );
    p.run(&["upgrade", "--each", "tenants/*.db"]).ok();
    for i in 0..300 {
        assert_eq!(at(&tenant(&p, i)).len(), 3, "tenant {i}");
    }
}

#[test]
fn an_interrupted_fleet_run_rolls_back_what_is_in_flight_and_says_so() {
    let p = padded_fleet(200);
    let child = strata_cmd()
        .current_dir(p.dir.path())
        .args(["upgrade", "--each", "tenants/*.db", "--jobs", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Interrupted: revisions in flight were rolled back"),
        "{stderr}"
    );
    assert_boundaries(&p, 200);
    p.run(&["upgrade", "--each", "tenants/*.db"]).ok();
    assert_eq!(at(&tenant(&p, 199)).len(), 3);
}

#[test]
fn ten_thousand_tenants_listed_on_stdin() {
    let p = fleet(10_000);
    let list: String = (0..10_000)
        .map(|i| format!("tenants/t{i:05}.db\n"))
        .collect();
    let mut child = strata_cmd()
        .current_dir(p.dir.path())
        .args(["--format", "json", "current", "--each-from", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Written from a thread of its own: strata streams results while it
    // still reads the list, and two full pipes would wait on each other.
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write as _;
        stdin.write_all(list.as_bytes()).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
    .ok();
    let (tenants, summary) = lines(&run);
    assert_eq!(tenants.len(), 10_000);
    // `current` counts a tenant behind head as "done" (it has work to do).
    assert_eq!(summary["done"].as_u64(), Some(10_000), "{summary}");
    assert!(
        tenants.iter().all(|t| t["steps"] == 2),
        "every tenant has both revisions pending"
    );
    // Read only: no tenant got strata's tables.
    assert_eq!(at(&tenant(&p, 9_999)), Vec::<String>::new());
    // And the same list upgrades (a thousand of them: the full ten thousand
    // is the benchmark's, `cargo bench --bench fleet`).
    let list: String = (0..1_000)
        .map(|i| format!("tenants/t{i:05}.db\n"))
        .collect();
    std::fs::write(p.path("list.txt"), list).unwrap();
    p.run(&["-q", "upgrade", "--each-from", "list.txt"]).ok();
    assert_eq!(at(&tenant(&p, 999)), [FIRST, HEAD]);
}

#[test]
fn fleet_flags_that_make_no_sense_are_refused() {
    let p = fleet(2);
    let run = p
        .run(&["upgrade", "--each", "tenants/*.db", "--sql"])
        .fails(2);
    assert!(
        run.error().contains("--sql is for one database"),
        "{}",
        run.stderr
    );
    let run = p.run(&["upgrade", "--each", "nothing/*.db"]).fails(2);
    assert!(
        run.error().contains("matches no database file"),
        "{}",
        run.stderr
    );
    let run = p.run(&["upgrade", "--fleet"]).fails(2);
    assert!(
        run.error().contains("no [fleet] databases list"),
        "{}",
        run.stderr
    );
}
