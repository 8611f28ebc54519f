//! A Rust application embedding its migrations (examples/embedded-app),
//! built with cargo as a user would build it: the lean library, the build
//! script, `strata::embed!`. The app and the CLI must agree on every fact
//! about the database they share.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{applied, TestProject};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// A copy of the example app whose migrations/ is a real directory of its
/// own, depending on this checkout's strata.
struct App {
    project: TestProject,
}

impl App {
    fn new() -> App {
        let project = TestProject::microblog();
        let example = Path::new(REPO).join("examples/embedded-app");
        let manifest = std::fs::read_to_string(example.join("Cargo.toml"))
            .unwrap()
            .replace("path = \"../..\"", &format!("path = {:?}", REPO));
        std::fs::write(project.path("Cargo.toml"), manifest).unwrap();
        std::fs::copy(example.join("Cargo.lock"), project.path("Cargo.lock")).unwrap();
        std::fs::copy(example.join("build.rs"), project.path("build.rs")).unwrap();
        std::fs::create_dir(project.path("src")).unwrap();
        std::fs::copy(example.join("src/main.rs"), project.path("src/main.rs")).unwrap();
        App { project }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.project.path(name)
    }

    /// Builds the app, returning cargo's output. Builds share one target
    /// directory across test runs, so only the first compiles SQLite.
    fn build(&self) -> Output {
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--quiet"])
            .current_dir(self.project.dir.path())
            .env("CARGO_TARGET_DIR", target_dir())
            .env_remove("RUSTFLAGS")
            .output()
            .expect("cargo runs")
    }

    #[track_caller]
    fn build_ok(&self) {
        let out = self.build();
        assert!(
            out.status.success(),
            "the app did not build:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs the built app on app.db: (exit code, stdout, stderr).
    fn run(&self, env: &[(&str, &str)]) -> (i32, String, String) {
        let out = self.command(env).output().expect("the app runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn command(&self, env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(target_dir().join("debug/embedded-app"));
        cmd.arg(self.path("app.db")).envs(env.iter().copied());
        cmd
    }

    /// Adds revision 3 (a column on users) by hand, as a developer would
    /// commit it.
    fn add_revision_3(&self, column: &str) {
        std::fs::write(
            self.path("migrations/20261201090000_user_bio.up.sql"),
            format!(
                "-- strata:revision 20261201090000\n-- strata:parent   20261126120000\n-- strata:message  user bio\n\nALTER TABLE user ADD COLUMN {column} TEXT;\n"
            ),
        )
        .unwrap();
        std::fs::write(
            self.path("migrations/20261201090000_user_bio.down.sql"),
            format!(
                "-- strata:revision 20261201090000\n\nALTER TABLE user DROP COLUMN {column};\n"
            ),
        )
        .unwrap();
    }
}

fn target_dir() -> PathBuf {
    Path::new(REPO).join("target/embedded-app-test")
}

fn steps(stdout: &str) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("the app prints JSON ({e}): {stdout}"));
    doc["upgrade"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["revision"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_app_embeds_upgrades_and_agrees_with_the_cli() {
    let app = App::new();

    // A bad header is a compile error naming the file.
    std::fs::write(
        app.path("migrations/20261130000000_broken.up.sql"),
        "-- strata:revision 20261130000000\n-- strata:parent 20261126120000\n-- strata:bogus x\nSELECT 1;\n",
    )
    .unwrap();
    let out = app.build();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a broken revision compiled");
    assert!(
        stderr.contains("migrations/20261130000000_broken.up.sql"),
        "the compile error names the file:\n{stderr}"
    );
    std::fs::remove_file(app.path("migrations/20261130000000_broken.up.sql")).unwrap();

    // First build: two revisions, applied at start-up.
    app.build_ok();
    let (code, stdout, stderr) = app.run(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(steps(&stdout), ["20261126110405", "20261126120000"]);
    let (code, stdout, _) = app.run(&[]);
    assert_eq!(
        (code, steps(&stdout).len()),
        (0, 0),
        "a second start does nothing"
    );

    // Second build with one more revision upgrades the same database; the
    // change to migrations/ alone makes cargo rebuild.
    app.add_revision_3("bio");
    app.build_ok();
    let (code, stdout, stderr) = app.run(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(steps(&stdout), ["20261201090000"]);
    let backup = serde_json::from_str::<serde_json::Value>(stdout.trim()).unwrap()["upgrade"]
        ["backup"]
        .as_str()
        .map(PathBuf::from)
        .expect("a backup before revision 3");
    assert_eq!(
        applied(&rusqlite::Connection::open(&backup).unwrap()),
        ["20261126110405", "20261126120000"]
    );

    // The CLI, on the same project and database, sees all three applied.
    let history = app.project.run(&["--format", "json", "history"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    let states: Vec<(String, String)> = doc["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("20261201090000".to_string(), "applied".to_string()),
            ("20261126120000".to_string(), "applied".to_string()),
            ("20261126110405".to_string(), "applied".to_string()),
        ]
    );
    let current = app.project.run(&["current"]).ok();
    assert!(
        current.stdout.contains("20261201090000"),
        "{}",
        current.stdout
    );

    // An edited applied revision: the typed error, exit 4, and no change.
    app.add_revision_3("biography");
    app.build_ok();
    let (code, _, stderr) = app.run(&[]);
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("migrations/20261201090000_user_bio.up.sql was modified"),
        "{stderr}"
    );
    let cli = app.project.run(&["upgrade"]).fails(1);
    assert!(cli.error().contains("was modified"), "{}", cli.stderr);

    // An older build (revision 3 gone) meets the newer database: exit 3,
    // unless told that is expected.
    for half in ["up", "down"] {
        std::fs::remove_file(app.path(&format!("migrations/20261201090000_user_bio.{half}.sql")))
            .unwrap();
    }
    app.build_ok();
    let (code, _, stderr) = app.run(&[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("a newer build migrated it"), "{stderr}");
    let (code, stdout, stderr) = app.run(&[("ALLOW_NEWER_DATABASE", "1")]);
    assert_eq!((code, steps(&stdout).len()), (0, 0), "{stderr}");
    assert_eq!(
        applied(&app.project.db()),
        ["20261126110405", "20261126120000", "20261201090000"]
    );

    apps_starting_at_once_apply_each_revision_once(&app);
}

/// Two app processes starting at once apply each revision exactly once.
/// Part of the test above: both need the one target directory, and cargo
/// builds of two copies of the app in it would undo each other.
fn apps_starting_at_once_apply_each_revision_once(app: &App) {
    std::fs::remove_file(app.path("app.db")).unwrap();
    let running: Vec<_> = (0..6)
        .map(|_| {
            app.command(&[])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied_by = Vec::new();
    for child in running {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        applied_by.extend(steps(&stdout));
    }
    applied_by.sort();
    assert_eq!(applied_by, ["20261126110405", "20261126120000"]);
    let conn = app.project.db();
    let ups: i64 = conn
        .query_row(
            "SELECT count(*) FROM strata_log WHERE direction = 'upgrade'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ups, 2, "each revision applied exactly once");
}
