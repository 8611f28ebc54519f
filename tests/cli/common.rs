//! `TestProject`: a strata project in a temporary directory, driven through
//! the real binary, with helpers to look at the real SQLite file.

use std::path::{Path, PathBuf};
use std::process::Output;

use rusqlite::Connection;
use std::process::Command;
use tempfile::TempDir;

pub struct TestProject {
    pub dir: TempDir,
}

/// The result of one strata run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts a failure with exit code `code` and exactly one `error:` line.
    #[track_caller]
    pub fn fails(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        let errors = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count();
        assert_eq!(errors, 1, "expected one error: line, got:\n{}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }

    /// The `error:` line.
    pub fn error(&self) -> &str {
        self.stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("")
    }
}

pub fn strata_cmd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.env_remove("DATABASE_URL").env("NO_COLOR", "1");
    cmd
}

/// Runs strata in any directory (not necessarily a project).
pub fn run_in(dir: &Path, args: &[&std::ffi::OsStr]) -> Run {
    Run::from(
        strata_cmd()
            .current_dir(dir)
            .args(args)
            .output()
            .expect("strata runs"),
    )
}

/// `&str` arguments as the `OsStr`s `run_in` takes.
pub fn os<'a>(args: &[&'a str]) -> Vec<&'a std::ffi::OsStr> {
    args.iter().map(|a| std::ffi::OsStr::new(*a)).collect()
}

impl TestProject {
    /// An empty project: strata.toml (database app.db) and migrations/.
    pub fn new() -> TestProject {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("strata.toml"),
            "database = \"app.db\"\nschema = \"schema.sql\"\nmigrations = \"migrations\"\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("migrations")).unwrap();
        TestProject { dir }
    }

    /// The repository's own microblog project (strata.toml, schema.sql,
    /// migrations/) copied into a temporary directory.
    pub fn microblog() -> TestProject {
        let project = TestProject::new();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::copy(repo.join("schema.sql"), project.path("schema.sql")).unwrap();
        for entry in std::fs::read_dir(repo.join("migrations")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(
                entry.path(),
                project.path("migrations").join(entry.file_name()),
            )
            .unwrap();
        }
        project
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn db_path(&self) -> PathBuf {
        self.path("app.db")
    }

    /// Runs strata in the project directory.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = strata_cmd();
        cmd.current_dir(self.dir.path()).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::from(cmd.output().expect("strata runs"))
    }

    /// Writes a revision's two files directly, as a user editing by hand would.
    pub fn write_revision(&self, id: &str, parents: &str, message: &str, up: &str, down: &str) {
        let slug: String = message
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let stem = format!("{id}_{slug}");
        std::fs::write(
            self.path("migrations").join(format!("{stem}.up.sql")),
            format!(
                "-- strata:revision {id}\n-- strata:parent   {parents}\n-- strata:message  {message}\n-- strata:created  2026-11-26T00:00:00Z\n\n{up}"
            ),
        )
        .unwrap();
        std::fs::write(
            self.path("migrations").join(format!("{stem}.down.sql")),
            format!("-- strata:revision {id}\n\n{down}"),
        )
        .unwrap();
    }

    pub fn up_file(&self, id: &str) -> PathBuf {
        self.find_file(id, ".up.sql")
    }

    pub fn down_file(&self, id: &str) -> PathBuf {
        self.find_file(id, ".down.sql")
    }

    fn find_file(&self, id: &str, suffix: &str) -> PathBuf {
        std::fs::read_dir(self.path("migrations"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.starts_with(id) && name.ends_with(suffix)
            })
            .unwrap_or_else(|| panic!("no {suffix} file for {id}"))
    }

    /// Another database of the project's (a fleet's tenant).
    pub fn db_at(&self, path: &Path) -> Connection {
        Connection::open(path).unwrap()
    }

    pub fn db(&self) -> Connection {
        Connection::open(self.db_path()).expect("open app.db")
    }

    /// The database file's bytes (empty if it does not exist).
    pub fn db_bytes(&self) -> Vec<u8> {
        std::fs::read(self.db_path()).unwrap_or_default()
    }

    pub fn query_i64(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// Applied revisions, in id order.
    pub fn applied(&self) -> Vec<String> {
        applied(&self.db())
    }
}

pub fn applied(conn: &Connection) -> Vec<String> {
    let exists: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'strata_history'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    if exists == 0 {
        return Vec::new();
    }
    let mut stmt = conn
        .prepare("SELECT revision FROM strata_history ORDER BY revision")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The user-visible schema: every object but SQLite's and strata's own.
pub fn user_schema(conn: &Connection) -> Vec<(String, String, String)> {
    let mut stmt = conn
        .prepare(
            "SELECT type, name, coalesce(sql, '') FROM sqlite_schema \
             WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'strata_%' ORDER BY type, name",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

pub fn integrity_ok(conn: &Connection) -> bool {
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    result == "ok"
}

/// How many times the attack tests repeat: a few in CI, many with
/// `STRATA_SOAK=N` (docs/reliability.md).
pub fn repeats(ci: usize) -> usize {
    std::env::var("STRATA_SOAK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ci)
}

/// A small deterministic random source (xorshift64*), seeded from
/// `STRATA_SEED` or the clock; the seed goes into assertion messages so a
/// failure can be replayed.
pub struct Rng {
    pub seed: u64,
    state: u64,
}

impl Rng {
    pub fn new() -> Rng {
        let seed = std::env::var("STRATA_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        Rng {
            seed,
            state: seed.max(1),
        }
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// Sends `signal` to a child process.
pub fn signal(child: &std::process::Child, signal: i32) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
}

/// A chain of `count` revisions `001`, `002`, …: revision n creates table
/// `tn` with `rows` rows; its down script drops it.
pub fn table_chain(p: &TestProject, count: usize, rows: usize) {
    for n in 1..=count {
        let parent = if n == 1 {
            "base".to_string()
        } else {
            format!("{:03}", n - 1)
        };
        p.write_revision(
            &format!("{n:03}"),
            &parent,
            &format!("t{n}"),
            &format!(
                "CREATE TABLE t{n} (id INTEGER PRIMARY KEY, pad BLOB);\n\
                 WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {rows})\n\
                 INSERT INTO t{n} SELECT i, randomblob(64) FROM c;\n"
            ),
            &format!("DROP TABLE t{n};\n"),
        );
    }
}

/// A [`table_chain`] database after a kill or a race: intact, a prefix of
/// the chain applied, and exactly the applied revisions' tables, each with
/// all its rows. Returns how many are applied.
pub fn assert_chain_consistent(p: &TestProject, count: usize, rows: i64, label: &str) -> usize {
    let conn = p.db();
    assert!(integrity_ok(&conn), "{label}: integrity_check failed");
    let applied = applied(&conn);
    let prefix: Vec<String> = (1..=applied.len()).map(|n| format!("{n:03}")).collect();
    assert_eq!(applied, prefix, "{label}: not a prefix of the chain");
    for n in 1..=count {
        let found: Option<i64> = conn
            .query_row(&format!("SELECT count(*) FROM t{n}"), [], |r| r.get(0))
            .ok();
        let expected = (n <= applied.len()).then_some(rows);
        assert_eq!(found, expected, "{label}: t{n}");
    }
    applied.len()
}

/// Whether the sqlite3 shell can run. Where it cannot, the test is skipped
/// with a line that shows in `cargo test`'s output even though output is
/// captured (it goes to the process's stderr directly); under CI (`CI` set,
/// as `.ci/run` is run) a missing shell fails the test instead, since
/// `.ci/run` installs it.
pub fn sqlite3_or_skip(test: &str) -> bool {
    tool_or_skip(test, "sqlite3", "-version", "the sqlite3 shell", "sqlite3")
}

/// A program a test drives that `.ci/run` installs: `$var` when that is
/// set, else `program` on PATH, found when `probe` (the command, to give
/// arguments or a directory) runs successfully. Where it is not, the test
/// is skipped with a line naming `what` and how to `install` it, which
/// shows in `cargo test`'s output although output is captured; under CI
/// (`CI` set) a missing tool fails the test instead.
pub fn installed_or_skip(
    test: &str,
    what: &str,
    install: &str,
    var: Option<&str>,
    program: &str,
    probe: &dyn Fn(&mut Command),
) -> Option<PathBuf> {
    let path = var
        .and_then(std::env::var_os)
        .map_or_else(|| PathBuf::from(program), PathBuf::from);
    let mut cmd = Command::new(&path);
    probe(&mut cmd);
    if cmd.output().is_ok_and(|o| o.status.success()) {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {what} is missing, and .ci/run installs it"
    );
    let or_var = var.map(|v| format!(", or set {v}")).unwrap_or_default();
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: needs {what} ({install}{or_var})"
    );
    None
}

/// [`installed_or_skip`] for a Debian `package` whose `program probe` runs.
pub fn tool_or_skip(test: &str, program: &str, probe: &str, what: &str, package: &str) -> bool {
    installed_or_skip(
        test,
        what,
        &format!("apt-get install {package}"),
        None,
        program,
        &|c| {
            c.arg(probe);
        },
    )
    .is_some()
}
