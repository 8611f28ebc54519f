//! One function per verb. Each takes a resolved [`Project`] and plain
//! options, does its work through the lower modules, and returns data for
//! the binary to print — never printing itself.

mod autogen;
pub mod cluster;
mod draw;
mod fleet;
mod import;
mod info;
mod lint;
mod run;
mod squash;
mod stand_ins;
mod synth;

/// Made-up rows for every empty table, as `verify` fills them; public for
/// the test suite's corpus runs.
#[doc(hidden)]
pub use stand_ins::register_app_sql;
pub use synth::fill_empty_tables;

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use serde::Serialize;

use crate::config::{display_path, Locator, Project, CONFIG_FILE};
use crate::error::CommandError;
use crate::history::{self, Applied};
use crate::runner::Options;
use crate::script::{format_time, Migrations, NewRevision};
use crate::{db, Error, Result};

pub use autogen::*;
pub use draw::*;
pub use fleet::{glob_tenants, FleetTask, FleetVerb};
pub use import::{import, ImportReport, ImportRequest, ImportedRevision, Peer};
pub use info::*;
pub use lint::{lint, Finding, Level, LintReport, LintRequest, Rule, RULES};
pub use run::*;
pub use squash::{
    data_statements, squash, DataChoice, DataStep, DatabaseState, SquashReport, SquashRequest,
};

/// `a, b`, or `base` when there are none: how revision sets read in
/// messages.
pub fn revs_or_base(revs: &[String]) -> String {
    if revs.is_empty() {
        "base".to_string()
    } else {
        revs.join(", ")
    }
}

/// Loads the project's revisions.
pub fn migrations(project: &Project) -> Result<Migrations> {
    Ok(Migrations::load(
        &project.migrations,
        &display_path(&project.migrations),
    )?)
}

/// The project's revision graph, for commands that show nothing of the
/// scripts: down scripts are not opened (`script::Load::Graph`).
pub fn revision_graph_only(project: &Project) -> Result<Migrations> {
    Ok(Migrations::load_for(
        &project.migrations,
        &display_path(&project.migrations),
        crate::script::Load::Graph,
    )?)
}

/// The revisions and the database's state, read at once on two threads:
/// the files are mostly system calls, the database mostly SQLite parsing
/// its schema. A revision problem is reported before a database one.
pub fn revisions_and_state(
    project: &Project,
    load: crate::script::Load,
    required: bool,
) -> Result<(Migrations, DbState)> {
    let (migrations, state) = std::thread::scope(|s| {
        let state = s.spawn(|| db_state(project, required));
        let migrations = Migrations::load_for(
            &project.migrations,
            &display_path(&project.migrations),
            load,
        );
        (migrations, state.join())
    });
    let migrations = migrations?;
    let state = state.map_err(|_| CommandError::Crashed("reading the database"))??;
    Ok((migrations, state))
}

/// What the database says, read without writing.
#[derive(Debug, Clone, Serialize)]
pub struct DbState {
    /// The database path, when one is configured.
    pub database: Option<String>,
    /// Whether the file exists.
    pub exists: bool,
    pub applied: Vec<Applied>,
}

impl DbState {
    pub fn applied_ids(&self) -> BTreeSet<String> {
        history::applied_ids(&self.applied)
    }

    /// The view of `migrations` this database needs (a squash undone while
    /// it is part-way through the squashed range), with `applied` read
    /// through it (`script/squash.rs`).
    pub fn view<'m>(
        &mut self,
        migrations: &'m Migrations,
    ) -> Result<std::borrow::Cow<'m, Migrations>> {
        let view = migrations.view(&self.applied)?;
        self.applied = view.normalize(std::mem::take(&mut self.applied));
        Ok(view)
    }
}

/// Reads the applied revisions read-only. With `required`, a missing
/// database configuration is an error; otherwise it reads as "no database".
pub fn db_state(project: &Project, required: bool) -> Result<DbState> {
    db_state_waiting(project, required, db::READ_LOCK_TIMEOUT)
}

/// [`db_state`], waiting at most `lock_timeout` for a writer's lock.
pub fn db_state_waiting(
    project: &Project,
    required: bool,
    lock_timeout: std::time::Duration,
) -> Result<DbState> {
    if let Some(cluster) = &project.cluster {
        // The leader's history, read where the next write would go.
        let client = cluster::connect(cluster, lock_timeout)?;
        return Ok(DbState {
            database: Some(cluster.url()),
            exists: true,
            applied: history::read_applied(&client)?,
        });
    }
    let path = match project.database() {
        Ok(path) => path,
        Err(e) if required => return Err(e.into()),
        Err(_) => {
            return Ok(DbState {
                database: None,
                exists: false,
                applied: Vec::new(),
            })
        }
    };
    let conn = db::open_read_waiting(path, lock_timeout)?;
    let applied = match &conn {
        Some(conn) => history::read_applied(conn)?,
        None => Vec::new(),
    };
    Ok(DbState {
        database: Some(display_path(path)),
        exists: conn.is_some(),
        applied,
    })
}

/// What `init` created.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    pub created: Vec<String>,
    pub kept: Vec<String>,
    /// With `--from-db`: the baseline revision the database was stamped at
    /// (none when the database had no schema yet).
    pub baseline: Option<Created>,
}

/// Writes `strata.toml`, `schema.sql` (if absent) and `migrations/` in the
/// starting directory. Refuses an existing project or a non-empty
/// migrations directory.
///
/// With `from_db`, adopts an existing database: its schema becomes
/// schema.sql and a baseline revision, and the database is stamped at it.
pub fn init(locator: &Locator, database: &str, from_db: bool) -> Result<InitReport> {
    let place = crate::config::parse_place(database)?;
    let dir = crate::config::start_dir(locator)?;
    // A cluster's schema is read from a snapshot of it.
    let mut _snapshot = None;
    let adopted = if from_db {
        let path = match &place {
            crate::config::Place::File(db_path) => dir.join(db_path),
            crate::config::Place::Cluster(cluster) => {
                let client = cluster::connect(cluster, db::READ_LOCK_TIMEOUT)?;
                let snap = cluster::snapshot(&client)?;
                let path = snap.path.clone();
                _snapshot = Some(snap);
                path
            }
        };
        let Some(conn) = db::open_read(&path)? else {
            return Err(CommandError::FromDbMissing {
                database: display_path(&path),
            }
            .into());
        };
        if !history::read_applied(&conn)?.is_empty() {
            return Err(CommandError::FromDbManaged {
                database: display_path(&path),
            }
            .into());
        }
        if dir.join("schema.sql").exists() {
            return Err(CommandError::FromDbSchemaExists.into());
        }
        let live = crate::schema::inspect::inspect(&conn)?;
        let app_sql = detect_app_sql(&live)?;
        Some((live, app_sql))
    } else {
        None
    };
    let app_sql = adopted
        .as_ref()
        .map(|(_, app)| app.clone())
        .unwrap_or_default();
    let adopted = adopted.map(|(live, _)| live);
    let config = dir.join(CONFIG_FILE);
    let migrations = dir.join("migrations");
    let schema = dir.join("schema.sql");
    if config.exists() {
        return Err(CommandError::ProjectExists {
            file: display_path(&config),
        }
        .into());
    }
    if migrations.is_dir()
        && fs::read_dir(&migrations)
            .map_err(Error::io(&migrations))?
            .next()
            .is_some()
    {
        return Err(CommandError::MigrationsNotEmpty {
            dir: display_path(&migrations),
        }
        .into());
    }
    let mut report = InitReport {
        created: Vec::new(),
        kept: Vec::new(),
        baseline: None,
    };
    if !migrations.is_dir() {
        fs::create_dir_all(&migrations).map_err(Error::io(&migrations))?;
        report.created.push(display_path(&migrations));
    }
    if schema.exists() {
        report.kept.push(display_path(&schema));
    } else {
        let text = match &adopted {
            Some(live) => format!(
                "-- The schema this project wants: plain SQLite DDL, adopted from the database.\n-- Edit it, then run `strata migrate -m \"what changed\"`.\n\n{}",
                live.dump()
            ),
            None => "-- The schema this project wants: plain SQLite DDL.\n-- Edit it, then run `strata migrate -m \"what changed\"`.\n".into(),
        };
        fs::write(&schema, text).map_err(Error::io(&schema))?;
        report.created.push(display_path(&schema));
    }
    fs::write(&config, crate::config::render_config(database, &app_sql))
        .map_err(Error::io(&config))?;
    report.created.push(display_path(&config));
    if let Some(live) = adopted.filter(|s| !s.tables.is_empty() || !s.objects.is_empty()) {
        let project = Project::discover(&Locator {
            dir: Some(dir.clone()),
            config: None,
            database: Some(match &place {
                crate::config::Place::File(db_path) => db_path.display().to_string(),
                crate::config::Place::Cluster(cluster) => cluster.url(),
            }),
            database_url: None,
        })?;
        let (up, down) = baseline(&live);
        let created = write_revision(
            &self::migrations(&project)?,
            None,
            Vec::new(),
            "baseline",
            &up,
            &down,
        )?;
        stamp(&project, &created.revision, &Options::default())?;
        report.baseline = Some(created);
    }
    Ok(report)
}

/// A revision `revision` or `merge` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub revision: String,
    pub parents: Vec<String>,
    pub message: String,
    pub up: String,
    pub down: String,
}

fn write_revision(
    migrations: &Migrations,
    rev_id: Option<&str>,
    parents: Vec<String>,
    message: &str,
    up_body: &str,
    down_body: &str,
) -> Result<Created> {
    crate::script::validate_message(message)?;
    let now = time::OffsetDateTime::now_utc();
    let id = match rev_id {
        Some(id) => {
            crate::script::validate_id(id)?;
            id.to_string()
        }
        None => migrations.new_id(now),
    };
    let new = NewRevision {
        id: id.clone(),
        parents: parents.clone(),
        message: message.to_string(),
        created: format_time(now),
        up_body: up_body.to_string(),
        down_body: down_body.to_string(),
        replaces: Vec::new(),
    };
    let (up, down) = migrations.write_new(&new)?;
    Ok(Created {
        revision: id,
        parents,
        message: message.to_string(),
        up: display_path(&up),
        down: display_path(&down),
    })
}

/// Writes an empty revision on top of the head (or of `head`, when the graph
/// has several), to be written by hand.
pub fn revision(
    project: &Project,
    message: &str,
    rev_id: Option<&str>,
    head: Option<&str>,
) -> Result<Created> {
    let migrations = migrations(project)?;
    let parents = match head {
        Some(text) => vec![migrations.graph.resolve(text)?.to_string()],
        None if migrations.graph.is_empty() => Vec::new(),
        None => vec![migrations.graph.single_head()?.to_string()],
    };
    write_revision(
        &migrations,
        rev_id,
        parents,
        message,
        "-- Write the upgrade here: plain SQLite statements, run in one transaction.\n",
        "-- Write the downgrade here: it must undo the upgrade exactly.\n",
    )
}

/// Writes a merge revision joining `revs` (all heads when empty).
pub fn merge(
    project: &Project,
    message: &str,
    revs: &[String],
    rev_id: Option<&str>,
) -> Result<Created> {
    let migrations = migrations(project)?;
    let mut parents: Vec<String> = if revs.is_empty() {
        migrations
            .graph
            .heads()
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        revs.iter()
            .map(|r| migrations.graph.resolve(r).map(str::to_string))
            .collect::<std::result::Result<_, _>>()?
    };
    parents.dedup();
    let unique: BTreeSet<&String> = parents.iter().collect();
    if unique.len() < 2 {
        return Err(if revs.is_empty() {
            CommandError::NothingToMerge
        } else {
            CommandError::MergeNeedsTwo
        }
        .into());
    }
    for a in &parents {
        for b in &parents {
            if a != b && migrations.graph.ancestors(b).contains(a) {
                return Err(CommandError::MergeAncestor {
                    ancestor: a.clone(),
                    descendant: b.clone(),
                }
                .into());
            }
        }
    }
    write_revision(
        &migrations,
        rev_id,
        parents,
        message,
        "-- Merge revision: usually empty; reconcile the branches here if needed.\n",
        "-- Undo whatever the merge's upgrade does.\n",
    )
}

/// The path of a backup made before a run, for the report.
pub type BackupPath = Option<PathBuf>;

/// The application's functions and collations that `schema`'s views,
/// triggers and indexes use, found by loading its dump the way `check`
/// will: each "no such function" or "no such collation sequence" gets a
/// stand-in, and the load is tried again. So `init --from-db` never writes
/// a schema.sql that `check` then refuses: any other failure is an error
/// before anything is written.
fn detect_app_sql(schema: &crate::schema::Schema) -> Result<crate::config::AppSql> {
    use crate::config::{AppSql, FunctionKind, FunctionSpec};
    let text = schema.dump();
    let mut app = AppSql::default();
    // Each round adds one name; a schema names finitely many.
    for _ in 0..=schema.objects.len() + schema.tables.len() + 1 {
        let conn = rusqlite::Connection::open_in_memory()
            .map_err(Error::sqlite("opening a scratch database"))?;
        register_app_sql(&conn, &app)?;
        let err = match crate::schema::load::load_into(conn, &text, "schema.sql") {
            Ok(_) => return Ok(app),
            Err(e) => e,
        };
        let message = err.to_string();
        let name_after = |marker: &str| -> Option<String> {
            let rest = &message[message.find(marker)? + marker.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
                .collect();
            (!name.is_empty()).then_some(name)
        };
        let window_use = message
            .split_once("() may not be used as a window function")
            .and_then(|(head, _)| {
                head.rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
            })
            .map(str::to_string);
        let missing = name_after("no such function: ").or(window_use);
        if let Some(name) = missing {
            // Unknown: a scalar. Known as a scalar and still refused (as a
            // window function over rows, say): an aggregate. Refused as
            // that too: something a stand-in cannot fix.
            match app.functions.get_mut(&name) {
                None => {
                    app.functions.insert(
                        name,
                        FunctionSpec {
                            args: -1,
                            kind: FunctionKind::Scalar,
                        },
                    );
                }
                Some(spec) if spec.kind == FunctionKind::Scalar => {
                    spec.kind = FunctionKind::Aggregate
                }
                Some(_) => {
                    return Err(CommandError::FromDbUnloadable {
                        reason: Some(message.to_string()),
                    }
                    .into())
                }
            }
        } else if let Some(name) = name_after("no such collation sequence: ") {
            app.collations.push(name);
        } else {
            return Err(CommandError::FromDbUnloadable {
                reason: Some(message.to_string()),
            }
            .into());
        }
    }
    Err(CommandError::FromDbUnloadable { reason: None }.into())
}

/// `text` as one word for a POSIX shell, so a hint that names it can be
/// pasted as written: bare when it is plainly safe, else single-quoted.
pub fn shell_quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if safe {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// `text` double-quoted for a POSIX shell, for a hint whose placeholder the
/// user replaces with SQL that may hold single quotes (`--fill "t.a=''"`).
pub fn shell_double_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod shell_tests {
    use super::shell_quote;

    #[test]
    fn shell_quote_keeps_words_whole() {
        assert_eq!(shell_quote("t.a=VALUE"), "t.a=VALUE");
        assert_eq!(shell_quote("drop a"), "'drop a'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
