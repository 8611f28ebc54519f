//! The verbs that change the database: `upgrade`, `downgrade`, `stamp`, and
//! their `--sql` renderings.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::config::{display_path, Project};
use crate::dqlite::Client;
use crate::engine::Engine;
use crate::error::CommandError;
use crate::graph::{Direction, GraphError, Target};
use crate::runner::{self, Options, Report, Step};
use crate::{db, history, Result};

/// What an upgrade or downgrade did.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    pub database: String,
    pub direction: Direction,
    #[serde(flatten)]
    pub report: Report,
    /// Where the `--backup` copy went.
    pub backup: Option<String>,
    /// The database's revisions afterwards; empty means base.
    pub current: Vec<String>,
    /// Whether that is the head of the graph.
    pub at_head: bool,
    /// The run's wall time, from the first revision's BEGIN to the last
    /// one's COMMIT (a step's `duration_ms` is its script, before COMMIT).
    pub duration_ms: u64,
}

/// How to run an upgrade or downgrade.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub target: String,
    pub options: Options,
    pub backup: bool,
}

/// What an upgrade or downgrade reports while it runs, in order.
#[derive(Debug, Clone, Copy)]
pub enum RunEvent<'a> {
    /// The run is planned: this many revisions will run.
    Start { pending: usize },
    /// The `--backup` copy is being made.
    BackingUp,
    /// The `--backup` copy is written, before any revision runs, so even a
    /// failed run has said where it is.
    Backup { path: &'a str },
    /// A revision is about to run.
    Step(&'a Step),
}

/// The connection a write goes through: a local file's, or a cluster's
/// leader's.
pub enum Writer {
    File(rusqlite::Connection),
    Cluster(Client),
}

impl Writer {
    /// Opens the project's database for writing: a file (created when
    /// `create`), or the cluster's leader, waiting up to `wait` for one.
    pub fn open(project: &Project, wait: std::time::Duration, create: bool) -> Result<Writer> {
        if let Some(cluster) = &project.cluster {
            return Ok(Writer::Cluster(super::cluster::connect(cluster, wait)?));
        }
        let path = project.database()?;
        if !create && !path.exists() {
            return Err(CommandError::DatabaseMissing {
                database: display_path(path),
                hint: false,
            }
            .into());
        }
        Ok(Writer::File(db::open_write(path, wait)?))
    }

    pub fn engine(&self) -> &dyn Engine {
        match self {
            Writer::File(conn) => conn,
            Writer::Cluster(client) => client,
        }
    }
}

fn parse_target(text: &str) -> Result<Target> {
    Ok(text.parse::<Target>()?)
}

/// `strata upgrade` / `strata downgrade`.
pub fn migrate_database(
    project: &Project,
    direction: Direction,
    request: &RunRequest,
    on_event: &mut dyn FnMut(RunEvent<'_>),
) -> Result<RunOutcome> {
    let all = super::migrations(project)?;
    let target = parse_target(&request.target)?;
    let shown = project
        .database_label()
        .ok_or(crate::config::ConfigError::NoDatabase)?;
    // A downgrade of a database that does not exist has nothing to revert;
    // work out the goal read-only so the file is never created for nothing.
    let mut before = super::db_state_waiting(project, true, request.options.lock_timeout)?;
    let migrations = before.view(&all)?;
    let applied = before.applied_ids();
    let goal = match direction {
        Direction::Upgrade => migrations.graph.upgrade_goal(&target, &applied)?,
        Direction::Downgrade => migrations.graph.downgrade_goal(&target, &applied)?,
    };
    let pending = migrations.graph.path(&goal, &applied);
    if pending.is_empty() && !before.exists {
        return Ok(RunOutcome {
            database: shown,
            direction,
            report: Report {
                steps: Vec::new(),
                dry_run: request.options.dry_run,
            },
            backup: None,
            current: Vec::new(),
            at_head: migrations.graph.is_empty(),
            duration_ms: 0,
        });
    }
    let writer = Writer::open(project, request.options.lock_timeout, true)?;
    // A signal interrupts a local statement at once; a cluster's run
    // stops at the next statement boundary.
    let _watch = match &writer {
        Writer::File(conn) => crate::interrupt::watch(conn),
        Writer::Cluster(_) => crate::interrupt::hold(),
    };
    let conn = writer.engine();
    on_event(RunEvent::Start {
        pending: pending.len(),
    });
    let backup =
        if request.backup && before.exists && !pending.is_empty() && !request.options.dry_run {
            on_event(RunEvent::BackingUp);
            let copy = match &writer {
                Writer::File(local) => db::backup(local, project.database()?)?,
                Writer::Cluster(client) => super::cluster::backup(client, &project.root)?,
            };
            let shown = display_path(&copy);
            on_event(RunEvent::Backup { path: &shown });
            Some(shown)
        } else {
            None
        };
    let started = std::time::Instant::now();
    let report = runner::run(conn, &migrations, &goal, &request.options, &mut |step| {
        on_event(RunEvent::Step(step))
    })?;
    let duration_ms = started.elapsed().as_millis() as u64;
    // Where it ends, seen as it now is: past a squashed range, at the squash.
    let rows = history::read_applied(conn)?;
    let migrations = all.view(&rows)?;
    let after = history::applied_ids(&migrations.normalize(rows));
    let current: Vec<String> = migrations
        .graph
        .current(&after)
        .iter()
        .map(|s| s.to_string())
        .collect();
    let at_head = migrations.graph.heads() == current;
    Ok(RunOutcome {
        database: shown,
        direction,
        report,
        backup,
        current,
        at_head,
        duration_ms,
    })
}

/// The script `upgrade --sql` / `downgrade --sql` prints, and where it
/// starts.
#[derive(Debug, Clone, Serialize)]
pub struct RenderedSql {
    /// The revisions the script starts from, `base` when none.
    pub start: String,
    /// Where that start came from: `range` (FROM:TO), `database` (read,
    /// read-only) or `base` (no database).
    pub start_from: &'static str,
    pub sql: String,
}

/// `upgrade --sql` / `downgrade --sql`: the script a run would execute.
/// It starts from `FROM` of a `FROM:TO` range (offline use); else from the
/// database's current revision when the database exists (read, never
/// written); else, for an upgrade, from `base`.
pub fn render_sql(
    project: &Project,
    direction: Direction,
    range: &str,
    single_transaction: bool,
) -> Result<RenderedSql> {
    let all = super::migrations(project)?;
    // Without a range the script starts where the database is, in the view
    // its history needs.
    let mut state = match range.contains(':') {
        true => None,
        false => Some(super::db_state(project, false)?),
    };
    let migrations = match &mut state {
        Some(state) if state.exists => state.view(&all)?,
        _ => std::borrow::Cow::Borrowed(&all),
    };
    let (from_text, to_text) = match range.split_once(':') {
        Some((from, to)) => (Some(from), to),
        None => (None, range),
    };
    let (from, start_from): (BTreeSet<String>, &'static str) = match from_text {
        Some(from_text) => (
            match parse_target(from_text)? {
                Target::Base => BTreeSet::new(),
                Target::Head => migrations.graph.ancestors(migrations.graph.single_head()?),
                Target::Revision(text) => {
                    migrations.graph.ancestors(migrations.graph.resolve(&text)?)
                }
                Target::Relative(_) => {
                    return Err(CommandError::BadTarget {
                        what: "the start of a --sql range",
                        expected: "a revision, `base` or `head`",
                        given: from_text.to_string(),
                    }
                    .into())
                }
            },
            "range",
        ),
        None => {
            let state = state.as_ref().expect("read above without a range");
            match (state.exists, direction) {
                (true, _) => {
                    let applied = state.applied_ids();
                    migrations.graph.check_applied(&applied)?;
                    (applied, "database")
                }
                (false, Direction::Upgrade) => (BTreeSet::new(), "base"),
                (false, Direction::Downgrade) => {
                    return Err(CommandError::DowngradeSqlNeedsStart {
                        target: to_text.to_string(),
                    }
                    .into())
                }
            }
        }
    };
    let start = super::revs_or_base(
        &migrations
            .graph
            .current(&from)
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    );
    let target = parse_target(to_text)?;
    let goal = match direction {
        Direction::Upgrade => migrations.graph.upgrade_goal(&target, &from)?,
        Direction::Downgrade => migrations.graph.downgrade_goal(&target, &from)?,
    };
    let heading = format!("strata {} {start}:{to_text}", direction.as_str());
    // The sqlite3 shell reaches files only: a cluster's script is for
    // review, or for a local copy such as `upgrade --backup` writes.
    let how_to_run = match &project.cluster {
        None => "Run it with the sqlite3 shell: sqlite3 DATABASE < this-file.sql".to_string(),
        Some(cluster) => format!(
            "For review: {} takes revisions through `strata upgrade` (the sqlite3 shell reaches only a local copy: sqlite3 COPY.db < this-file.sql)",
            cluster.url()
        ),
    };
    let sql = runner::render_sql(
        &migrations,
        &goal,
        &from,
        single_transaction,
        &heading,
        &how_to_run,
    )?;
    Ok(RenderedSql {
        start,
        start_from,
        sql,
    })
}

/// What `stamp` did.
#[derive(Debug, Clone, Serialize)]
pub struct StampReport {
    pub database: String,
    pub target: String,
    pub current: Vec<String>,
    /// False when the database was at that revision already (nothing written).
    pub changed: bool,
}

/// What `rehash` did.
#[derive(Debug, Clone, Serialize)]
pub struct RehashReport {
    pub database: String,
    pub revision: String,
    /// False when the recorded checksums matched the files already.
    pub changed: bool,
    pub up_sha256: String,
    pub down_sha256: String,
}

/// `strata rehash REV`: accepts the edited files of an applied revision,
/// on purpose and logged (as `atlas migrate hash` or sqlx's checksum
/// override do), so `check`, `upgrade` and `downgrade` stop refusing it.
pub fn rehash(project: &Project, rev_text: &str, options: &Options) -> Result<RehashReport> {
    let migrations = super::migrations(project)?;
    let id = match parse_target(rev_text)? {
        Target::Head => migrations.graph.single_head()?.to_string(),
        Target::Revision(text) => migrations.graph.resolve(&text)?.to_string(),
        _ => return Err(GraphError::InvalidTarget(rev_text.to_string()).into()),
    };
    let rev = migrations.get(&id).expect("resolved ids exist");
    let writer = Writer::open(project, options.lock_timeout, false)?;
    let changed = runner::rehash(writer.engine(), rev, options)?;
    Ok(RehashReport {
        database: project.database_label().unwrap_or_default(),
        revision: id,
        changed,
        up_sha256: rev.up.sha256.clone(),
        down_sha256: rev.down.sha256.clone(),
    })
}

/// `strata stamp REV`: records the database as being at `REV` without
/// running any script.
pub fn stamp(project: &Project, target_text: &str, options: &Options) -> Result<StampReport> {
    let migrations = super::migrations(project)?;
    let keep: BTreeSet<String> = match parse_target(target_text)? {
        Target::Base => BTreeSet::new(),
        Target::Head => migrations.graph.ancestors(migrations.graph.single_head()?),
        Target::Revision(text) => migrations.graph.ancestors(migrations.graph.resolve(&text)?),
        Target::Relative(_) => {
            return Err(GraphError::InvalidTarget(target_text.to_string()).into())
        }
    };
    let writer = Writer::open(project, options.lock_timeout, true)?;
    let label = if keep.is_empty() {
        "base".to_string()
    } else {
        migrations.graph.current(&keep).join(",")
    };
    let changed = runner::stamp(writer.engine(), &migrations, &label, &keep, options)?;
    Ok(StampReport {
        changed,
        database: project.database_label().unwrap_or_default(),
        target: label,
        current: migrations
            .graph
            .current(&keep)
            .iter()
            .map(|s| s.to_string())
            .collect(),
    })
}
