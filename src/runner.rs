//! Applies and reverts revisions, one `BEGIN IMMEDIATE` transaction per
//! revision holding the script and its bookkeeping rows (or one for the whole
//! run with `--single-transaction`).
//!
//! The applied set is re-read inside every transaction and the next step is
//! chosen from it, so concurrent `strata upgrade` processes each apply a
//! revision exactly once: the second one to get the lock sees the first one's
//! row and moves on. A killed process leaves the database at a revision
//! boundary, because SQLite's journal undoes the open transaction.
//!
//! The same statements, rendered as text, make the `--sql` script.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde::Serialize;

use crate::graph::{Direction, Goal, GraphError};
use crate::history::{self, Applied, Entry, When};
use crate::script::{format_time, Migrations, Revision, ScriptFile};
use crate::sql::split::{line_of, split};
use crate::engine::{Engine, EngineError, Value};
use crate::error::RunError;
use crate::{Error, Result};

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to wait for another writer's lock.
    pub lock_timeout: Duration,
    /// One transaction for the whole run: all revisions or none.
    pub single_transaction: bool,
    /// Run everything, then roll back.
    pub dry_run: bool,
    /// Run even when an applied revision's file has changed.
    pub ignore_checksums: bool,
    /// Told each statement of a revision's script and how long it took
    /// (`upgrade -v`).
    pub trace: Option<fn(&Statement<'_>)>,
    /// Told, every few thousand rows, how far a table rebuild's copy has
    /// got (a progress bar with rate and ETA).
    pub rows: Option<fn(&RowProgress<'_>)>,
    /// Told when a cluster's connection was lost and a new one made: why,
    /// and where it goes now.
    pub reconnected: Option<fn(&str, &str)>,
}

/// How far the copy step of a table rebuild has got.
#[derive(Debug, Clone, Copy)]
pub struct RowProgress<'a> {
    /// The table being rebuilt.
    pub table: &'a str,
    pub done: u64,
    pub total: u64,
    /// The last report of this copy.
    pub finished: bool,
}

/// One statement of a script that ran, for [`Options::trace`].
#[derive(Debug, Clone, Copy)]
pub struct Statement<'a> {
    /// The script's file, as shown to the user.
    pub file: &'a str,
    pub line: usize,
    pub sql: &'a str,
    pub elapsed: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            lock_timeout: Duration::from_secs(60),
            single_transaction: false,
            dry_run: false,
            ignore_checksums: false,
            trace: None,
            rows: None,
            reconnected: None,
        }
    }
}

/// One revision applied or reverted.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Applied (`upgrade`) or reverted (`downgrade`).
    pub direction: Direction,
    /// The revision's id.
    pub revision: String,
    /// The revisions the database is at before an upgrade step, or after a
    /// downgrade step (the revision's parents).
    pub parents: Vec<String>,
    /// Its `-- strata:message`.
    pub message: String,
    /// How long its script and bookkeeping took.
    pub duration_ms: u64,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub steps: Vec<Step>,
    pub dry_run: bool,
}

/// Compares applied revisions' recorded checksums with their files.
pub fn verify_checksums(
    migrations: &Migrations,
    applied: &[Applied],
) -> std::result::Result<(), Error> {
    for row in applied {
        let Some(rev) = migrations.get(&row.revision) else {
            return Err(GraphError::MissingApplied(row.revision.clone()).into());
        };
        debug_assert!(
            !rev.down.sha256.is_empty(),
            "checksums of a graph-only load: load the scripts (script::Load::All)"
        );
        for (file, recorded) in [(&rev.up, &row.up_sha256), (&rev.down, &row.down_sha256)] {
            if &file.sha256 != recorded {
                return Err(RunError::Checksum {
                    revision: rev.id.clone(),
                    file: file.display.clone(),
                    recorded: short(recorded),
                    found: short(&file.sha256),
                }
                .into());
            }
        }
    }
    Ok(())
}

fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

fn entry(rev: &Revision) -> Entry<'_> {
    Entry {
        revision: &rev.id,
        parents: &rev.parents,
        message: &rev.message,
        up_sha256: &rev.up.sha256,
        down_sha256: &rev.down.sha256,
    }
}

fn script_of(rev: &Revision, direction: Direction) -> &ScriptFile {
    match direction {
        Direction::Upgrade => &rev.up,
        Direction::Downgrade => &rev.down,
    }
}

/// How a precheck's RAISE message starts.
const PRECHECK: &str = "precheck failed";

/// Maps an engine's failure of a bookkeeping or control statement: the
/// lock timeout and an interruption by name, anything else with `context`.
fn locked_or(err: EngineError, opts: &Options, context: &str) -> Error {
    if err.is_busy() {
        RunError::Locked {
            seconds: opts.lock_timeout.as_secs(),
        }
        .into()
    } else if err.is_interrupted() {
        RunError::Interrupted.into()
    } else {
        Error::engine(context)(err)
    }
}

/// Runs a script statement by statement, reporting a failure as `FILE:LINE`.
pub fn execute_script(conn: &dyn Engine, file: &ScriptFile, transactional: bool) -> Result<()> {
    execute_traced(conn, file, transactional, None, None).map(|_| ())
}

/// Whether a statement can leave a row breaking a foreign key: anything
/// but creating objects, reading, and dropping an index, view or trigger.
/// (A new table is empty; `CREATE TABLE … AS SELECT` has no constraints.)
fn may_break_foreign_keys(stmt: &crate::sql::split::Statement<'_>) -> bool {
    match stmt.keyword().as_str() {
        "CREATE" | "SELECT" | "" => false,
        "DROP" => {
            let tokens = crate::sql::tokenize(stmt.text);
            let object = tokens.get(1);
            !object.is_some_and(|t| t.is("index") || t.is("view") || t.is("trigger"))
        }
        _ => true,
    }
}

/// [`execute_script`], telling `trace` about each statement that ran.
/// Returns whether any statement could have broken a foreign key.
fn execute_traced(
    conn: &dyn Engine,
    file: &ScriptFile,
    transactional: bool,
    trace: Option<fn(&Statement<'_>)>,
    rows: Option<fn(&RowProgress<'_>)>,
) -> Result<bool> {
    let text = file.read()?;
    let mut may_break = false;
    for stmt in split(&text) {
        may_break |= may_break_foreign_keys(&stmt);
        if crate::interrupt::requested() {
            return Err(RunError::Interrupted.into());
        }
        if transactional && stmt.is_transaction_control() {
            return Err(RunError::TransactionControl {
                file: file.display.clone(),
                line: stmt.line,
                keyword: stmt.keyword(),
            }
            .into());
        }
        let run = || conn.execute(stmt.text, &[]);
        let started = Instant::now();
        // Row progress needs a function of strata's own on the connection:
        // a local file only.
        let copy = rows
            .zip(conn.local())
            .and_then(|(report, local)| rebuild_copy(stmt.text).map(|names| (report, local, names)));
        let outcome = match copy {
            Some((report, local, (new, old))) => watch_copy(local, &new, &old, report, run),
            None => run(),
        };
        if let (Some(trace), Ok(())) = (trace, &outcome) {
            trace(&Statement {
                file: &file.display,
                line: stmt.line,
                sql: stmt.text,
                elapsed: started.elapsed(),
            });
        }
        if let Err(err) = outcome {
            if err.is_interrupted() {
                return Err(RunError::Interrupted.into());
            }
            if err.is_lost() || matches!(err, EngineError::Unavailable(_)) {
                let context = format!("running {}:{}", file.display, stmt.line);
                return Err(Error::engine(context)(err));
            }
            let line = match err.offset() {
                Some(offset) => line_of(&text, stmt.offset + offset),
                None => stmt.line,
            };
            let message = match err.message() {
                bare if bare == PRECHECK => precheck_detail(conn).unwrap_or(bare),
                message => message,
            };
            let file = file.display.clone();
            // The planner's prechecks fail with RAISE(ABORT, 'precheck failed: …').
            return Err(if message.starts_with(PRECHECK) {
                RunError::Precheck {
                    file,
                    line,
                    message,
                }
            } else {
                RunError::Statement {
                    file,
                    line,
                    message,
                }
            }
            .into());
        }
    }
    Ok(may_break)
}

/// The message of a precheck that stopped a script: `precheck failed: N
/// row(s) …`, from the row its trigger kept (`RAISE(FAIL, …)`).
fn precheck_detail(conn: &dyn Engine) -> Option<String> {
    let rows = conn
        .query(
            "SELECT violations, rule FROM temp.strata_precheck WHERE violations > 0 ORDER BY rowid DESC LIMIT 1",
            &[],
        )
        .ok()?;
    let row = rows.first()?;
    Some(format!("{PRECHECK}: {} {}", row.first()?.int(), row.get(1)?.text()))
}

/// `PRAGMA foreign_key_check` over the whole database; an error naming the
/// offending tables and rows if any.
fn check_foreign_keys(conn: &dyn Engine, revision: &str) -> Result<()> {
    let rows = conn
        .query("PRAGMA foreign_key_check", &[])
        .map_err(Error::engine("checking foreign keys"))?;
    let sample = rows
        .iter()
        .take(5)
        .map(|row| {
            let at = row
                .get(1)
                .and_then(Value::int_or_null)
                .map_or_else(|| "a row".to_string(), |r| format!("rowid {r}"));
            let cell = |i: usize| row.get(i).map(Value::text).unwrap_or_default();
            format!("{} {at} references a missing {} row", cell(0), cell(2))
        })
        .collect();
    if !rows.is_empty() {
        return Err(RunError::ForeignKey {
            revision: revision.to_string(),
            count: rows.len(),
            sample,
        }
        .into());
    }
    Ok(())
}

fn exec(conn: &dyn Engine, sql: &str, opts: &Options, context: &str) -> Result<()> {
    conn.execute_batch(sql)
        .map_err(|e| locked_or(e, opts, context))
}

fn rollback(conn: &dyn Engine) {
    // A cluster's client cannot always know: after a failed batch the
    // server may hold the transaction open, so a remote engine always asks.
    if conn.in_transaction() || conn.local().is_none() {
        // The error being reported matters more than a failed rollback; the
        // journal undoes the transaction when the connection closes anyway
        // (and "no transaction is active" is the answer when there is none).
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// How a transaction of [`transaction`] ends.
enum End {
    Commit,
    Rollback,
}

/// The one bracket every write of the runner goes through: `BEGIN
/// IMMEDIATE`, `work`, then COMMIT or ROLLBACK as `work` says; rolled back
/// on any error, and — once a signal arrived — never committed.
fn transaction<T>(
    conn: &dyn Engine,
    opts: &Options,
    work: impl FnOnce() -> Result<(T, End)>,
) -> Result<T> {
    exec(conn, "BEGIN IMMEDIATE", opts, "starting a transaction")?;
    let outcome = work().and_then(|done| match done {
        (_, End::Commit) if crate::interrupt::requested() => Err(RunError::Interrupted.into()),
        done => Ok(done),
    });
    match outcome {
        Ok((value, End::Commit)) => match exec(conn, "COMMIT", opts, "committing") {
            Ok(()) => Ok(value),
            Err(e) => {
                rollback(conn);
                Err(e)
            }
        },
        Ok((value, End::Rollback)) => {
            rollback(conn);
            Ok(value)
        }
        Err(e) => {
            rollback(conn);
            Err(e)
        }
    }
}

/// How many times in a row a run reconnects without committing anything
/// before it gives up: each reconnect already waits for a leader up to the
/// lock timeout.
const RECONNECTS: usize = 5;

/// After a lost connection: a new one to whoever leads now, set up as the
/// run's first one was. Returns the original error when the engine cannot
/// reconnect (a local file never loses its connection this way).
fn reconnect(conn: &dyn Engine, opts: &Options, lost: Error) -> Result<()> {
    match conn.reconnect() {
        Ok(true) => {
            if let Some(tell) = opts.reconnected {
                tell(&lost.to_string(), &conn.endpoint().unwrap_or_default());
            }
            prepare(conn, opts)
        }
        Ok(false) => Err(lost),
        Err(EngineError::Unavailable(message)) => Err(crate::error::ClusterError::Unavailable {
            message,
            in_flight: true,
        }
        .into()),
        Err(e) => Err(locked_or(e, opts, "reconnecting")),
    }
}

/// Foreign-key enforcement would let a table rebuild delete child rows
/// through ON DELETE CASCADE; it can only be switched outside a
/// transaction (sqlite.org/pragma.html#pragma_foreign_keys). Violations
/// are caught by `PRAGMA foreign_key_check` before each COMMIT instead.
fn prepare(conn: &dyn Engine, opts: &Options) -> Result<()> {
    exec(
        conn,
        "PRAGMA foreign_keys = OFF",
        opts,
        "switching off foreign keys",
    )
}

/// Reads the applied set inside the current transaction, checking files.
fn read_state(
    conn: &dyn Engine,
    migrations: &Migrations,
    opts: &Options,
) -> Result<(BTreeSet<String>, history::Bookkeeping)> {
    let (rows, bookkeeping) = history::read(conn)?;
    let rows = migrations.normalize(rows);
    if opts.ignore_checksums {
        migrations
            .graph
            .check_applied(&history::applied_ids(&rows))?;
    } else {
        verify_checksums(migrations, &rows)?;
    }
    Ok((history::applied_ids(&rows), bookkeeping))
}

/// The (new, old) table names of a rebuild's copy step, `INSERT INTO
/// "_strata_new_t" (…) SELECT … FROM "t"`, as the planner writes it.
fn rebuild_copy(sql: &str) -> Option<(String, String)> {
    let mut tokens = crate::sql::tokenize(sql);
    if tokens.last().is_some_and(|t| t.is_punct(";")) {
        tokens.pop();
    }
    if !(tokens.first()?.is("insert") && tokens.get(1)?.is("into")) {
        return None;
    }
    let new = tokens.get(2)?.value();
    if !new.starts_with("_strata_new_") {
        return None;
    }
    let from = tokens.iter().rposition(|t| t.is("from"))?;
    let old = tokens.get(from + 1)?.value();
    (tokens.len() == from + 2).then_some((new, old))
}

/// Runs a rebuild's copy step with a row counter: a temporary trigger on
/// the new table calls a function of strata's own for each row, which
/// reports every few thousand rows. Both exist only on this connection and
/// only while the statement runs; the copy itself is the script's.
fn watch_copy(
    conn: &Connection,
    new: &str,
    old: &str,
    report: fn(&RowProgress<'_>),
    run: impl FnOnce() -> std::result::Result<(), EngineError>,
) -> std::result::Result<(), EngineError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let total: u64 = conn.query_row(
        &format!("SELECT count(*) FROM {}", crate::sql::quote_ident(old)),
        [],
        |r| r.get::<_, i64>(0),
    )? as u64;
    /// Rows between two reports.
    const EVERY: u64 = 4096;
    let done = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&done);
    let table = old.to_string();
    conn.create_scalar_function(
        "strata_row_copied",
        0,
        rusqlite::functions::FunctionFlags::SQLITE_UTF8,
        move |_| {
            let n = (counter.fetch_add(1, Ordering::Relaxed) + 1) * EVERY;
            report(&RowProgress {
                table: &table,
                done: n.min(total),
                total,
                finished: false,
            });
            Ok(rusqlite::types::Value::Null)
        },
    )?;
    // The trigger's WHEN keeps the cost to one comparison for most rows
    // (rowids come in order from a rowid table's scan); a WITHOUT ROWID
    // table counts every row instead.
    let sample = if conn
        .query_row(
            "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
            [new],
            |r| r.get::<_, i64>(0),
        )
        .unwrap_or(0)
        > 0
    {
        String::new()
    } else {
        format!(" WHEN NEW.rowid % {EVERY} = 0")
    };
    conn.execute_batch(&format!(
        "CREATE TEMP TRIGGER strata_copy_progress AFTER INSERT ON main.{}{sample} BEGIN SELECT strata_row_copied(); END",
        crate::sql::quote_ident(new)
    ))?;
    let outcome = run();
    let _ = conn.execute_batch("DROP TRIGGER IF EXISTS temp.strata_copy_progress");
    report(&RowProgress {
        table: old,
        done: total,
        total,
        finished: true,
    });
    outcome
}

/// Runs one revision's script and bookkeeping inside an open transaction.
fn run_step(
    conn: &dyn Engine,
    rev: &Revision,
    direction: Direction,
    opts: &Options,
) -> Result<Step> {
    let started = Instant::now();
    let file = script_of(rev, direction);
    // The check reads every table: skipped after a revision that only
    // creates objects (a thousand such revisions would cost n² reads).
    if execute_traced(conn, file, file.transactional, opts.trace, opts.rows)? {
        check_foreign_keys(conn, &rev.id)?;
    }
    let duration_ms = started.elapsed().as_millis() as u64;
    record(conn, rev, direction, duration_ms)?;
    Ok(step(rev, direction, duration_ms))
}

/// Writes the bookkeeping rows of one applied or reverted revision. Every
/// value, the time included, is strata's: an engine that replays
/// statements on each node records the same bytes everywhere.
fn record(conn: &dyn Engine, rev: &Revision, direction: Direction, duration_ms: u64) -> Result<()> {
    let now = format_time(time::OffsetDateTime::now_utc());
    let when = When {
        at: Some(&now),
        duration_ms: duration_ms as i64,
    };
    match direction {
        Direction::Upgrade => history::record_upgrade(conn, &entry(rev), &now, when.duration_ms),
        Direction::Downgrade => conn
            .execute_batch(&history::downgrade_sql(&rev.id, &rev.covers, when))
            .map_err(Error::engine(format!("recording revision {}", rev.id))),
    }
}

fn step(rev: &Revision, direction: Direction, duration_ms: u64) -> Step {
    Step {
        direction,
        revision: rev.id.clone(),
        parents: rev.parents.clone(),
        message: rev.message.clone(),
        duration_ms,
    }
}

/// Whether `applied` shows `step` done: its row present after an upgrade,
/// absent after a downgrade.
fn landed(step: &Step, applied: &BTreeSet<String>) -> bool {
    applied.contains(&step.revision) == (step.direction == Direction::Upgrade)
}

/// Moves the database towards `goal`. `on_step` is told about each revision
/// just before it runs.
///
/// On an engine whose connection can drop (a cluster), a lost connection
/// is never taken as an answer: the run reconnects, reads the applied set
/// inside its next transaction, and counts the revision that was in flight
/// as done only if its row says so — else it runs it again.
pub fn run(
    conn: &dyn Engine,
    migrations: &Migrations,
    goal: &Goal,
    opts: &Options,
    on_step: &mut dyn FnMut(&Step),
) -> Result<Report> {
    let direction = goal.direction();
    prepare(conn, opts)?;
    if opts.single_transaction || opts.dry_run {
        run_single(conn, migrations, goal, opts, on_step, direction)
    } else {
        run_each(conn, migrations, goal, opts, on_step, direction)
    }
}

fn run_single(
    conn: &dyn Engine,
    migrations: &Migrations,
    goal: &Goal,
    opts: &Options,
    on_step: &mut dyn FnMut(&Step),
    direction: Direction,
) -> Result<Report> {
    let mode = if opts.dry_run {
        "--dry-run"
    } else {
        "--single-transaction"
    };
    // The steps of an attempt whose connection was lost: they all landed
    // or none did, as the next attempt's read shows.
    let mut in_flight: Vec<Step> = Vec::new();
    let mut attempts = 0;
    loop {
        let mut steps = Vec::new();
        let outcome = transaction(conn, opts, || {
            let (applied, bookkeeping) = read_state(conn, migrations, opts)?;
            let path = migrations.graph.path(goal, &applied);
            let revs: Vec<&Revision> = path.iter().filter_map(|id| migrations.get(id)).collect();
            if let Some(rev) = revs.iter().find(|r| !script_of(r, direction).transactional) {
                return Err(RunError::NonTransactional {
                    revision: rev.id.clone(),
                    mode,
                }
                .into());
            }
            if !revs.is_empty() {
                history::ensure_from(conn, &bookkeeping)?;
            }
            let earlier: Vec<Step> = std::mem::take(&mut in_flight)
                .into_iter()
                .filter(|s| landed(s, &applied))
                .collect();
            steps.extend(earlier);
            for rev in revs {
                on_step(&step(rev, direction, 0));
                steps.push(run_step(conn, rev, direction, opts)?);
            }
            let end = if opts.dry_run { End::Rollback } else { End::Commit };
            Ok(((), end))
        });
        match outcome {
            Ok(()) => {
                return Ok(Report {
                    steps,
                    dry_run: opts.dry_run,
                })
            }
            Err(e) if e.is_lost() && attempts < RECONNECTS => {
                attempts += 1;
                in_flight = steps;
                reconnect(conn, opts, e)?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// What one transaction of [`run_each`] found to do.
enum Next<'m> {
    /// The goal is reached.
    Done,
    /// A `-- strata:transaction off` revision, to run outside one.
    Outside(&'m Revision),
    /// A revision ran; committed with the transaction.
    Ran(Step),
}

fn run_each(
    conn: &dyn Engine,
    migrations: &Migrations,
    goal: &Goal,
    opts: &Options,
    on_step: &mut dyn FnMut(&Step),
    direction: Direction,
) -> Result<Report> {
    let mut steps = Vec::new();
    // The applied set as this run's last commit left it: other upgraders may
    // add to it, but a revision disappearing under an upgrade (or appearing
    // under a downgrade) means two runs are undoing each other's work.
    let mut left: Option<BTreeSet<String>> = None;
    // A step whose COMMIT was sent but whose answer never came, with the
    // applied set it leaves if it landed.
    let mut in_flight: Option<Step> = None;
    let mut reconnects = 0;
    loop {
        if crate::interrupt::requested() {
            return Err(RunError::Interrupted.into());
        }
        let mut after = BTreeSet::new();
        let outcome = transaction(conn, opts, || {
            let (mut applied, bookkeeping) = read_state(conn, migrations, opts)?;
            if let Some(step) = in_flight.take() {
                if landed(&step, &applied) {
                    steps.push(step);
                    left = Some(applied.clone());
                }
            }
            if let Some(before) = &left {
                let (moved, what) = match direction {
                    Direction::Upgrade => (before.difference(&applied).next(), "reverted"),
                    Direction::Downgrade => (applied.difference(before).next(), "applied"),
                };
                if let Some(revision) = moved {
                    return Err(RunError::Conflict {
                        revision: revision.clone(),
                        what,
                        done: steps.len(),
                    }
                    .into());
                }
            }
            let Some(rev) = migrations
                .graph
                .next_step(goal, &applied)
                .and_then(|id| migrations.get(id))
            else {
                return Ok((Next::Done, End::Rollback));
            };
            on_step(&step(rev, direction, 0));
            // What the database holds once this step commits.
            match direction {
                Direction::Upgrade => applied.insert(rev.id.clone()),
                Direction::Downgrade => applied.remove(&rev.id),
            };
            after = applied;
            if !script_of(rev, direction).transactional {
                return Ok((Next::Outside(rev), End::Rollback));
            }
            history::ensure_from(conn, &bookkeeping)?;
            let step = run_step(conn, rev, direction, opts)?;
            in_flight = Some(step.clone());
            Ok((Next::Ran(step), End::Commit))
        });
        match outcome {
            Ok(Next::Done) => break,
            Ok(Next::Ran(step)) => {
                in_flight = None;
                steps.push(step);
            }
            Ok(Next::Outside(rev)) => {
                steps.push(run_outside_transaction(conn, migrations, rev, direction, opts)?);
            }
            Err(e) if e.is_lost() && reconnects < RECONNECTS => {
                // The next transaction's read says whether `in_flight` landed.
                reconnects += 1;
                reconnect(conn, opts, e)?;
                continue;
            }
            Err(e) => return Err(e),
        }
        reconnects = 0;
        left = Some(after);
    }
    Ok(Report {
        steps,
        dry_run: false,
    })
}

/// A `-- strata:transaction off` script (VACUUM, say) runs in autocommit
/// mode; only its bookkeeping is transactional. If it fails half-way, the
/// statements before the failure stay applied and the revision is not
/// recorded — the header's directive is the user's acknowledgement of that.
fn run_outside_transaction(
    conn: &dyn Engine,
    migrations: &Migrations,
    rev: &Revision,
    direction: Direction,
    opts: &Options,
) -> Result<Step> {
    let started = Instant::now();
    let may_break = execute_traced(
        conn,
        script_of(rev, direction),
        false,
        opts.trace,
        opts.rows,
    )?;
    let duration = transaction(conn, opts, || {
        let (applied, bookkeeping) = read_state(conn, migrations, opts)?;
        let already = applied.contains(&rev.id) == (direction == Direction::Upgrade);
        if already {
            return Ok((0, End::Rollback));
        }
        if may_break {
            check_foreign_keys(conn, &rev.id)?;
        }
        history::ensure_from(conn, &bookkeeping)?;
        let duration_ms = started.elapsed().as_millis() as u64;
        record(conn, rev, direction, duration_ms)?;
        Ok((duration_ms, End::Commit))
    })?;
    Ok(step(rev, direction, duration))
}

/// Sets the applied set to `keep` without running any script.
pub fn stamp(
    conn: &dyn Engine,
    migrations: &Migrations,
    target: &str,
    keep: &BTreeSet<String>,
    opts: &Options,
) -> Result<bool> {
    write_if_changed(conn, opts, || {
        let applied = history::applied_ids(&migrations.normalize(history::read_applied(conn)?));
        if &applied == keep {
            // Stamping where the database is changes nothing: no rewritten
            // applied_at, no checksum quietly accepted, no log row.
            return Ok(false);
        }
        history::ensure(conn)?;
        // A squash stands for the rows of the revisions it covers.
        let remove: Vec<&str> = applied
            .iter()
            .filter(|r| !keep.contains(*r))
            .flat_map(|r| {
                let covers = migrations.get(r).map(|rev| rev.covers.as_slice());
                std::iter::once(r.as_str()).chain(covers.unwrap_or_default().iter().map(String::as_str))
            })
            .collect();
        let add: Vec<Entry<'_>> = migrations
            .in_order()
            .filter(|r| keep.contains(&r.id) && !applied.contains(&r.id))
            .map(entry)
            .collect();
        let now = format_time(time::OffsetDateTime::now_utc());
        let sql = history::stamp_sql(
            &remove,
            &add,
            target,
            When {
                at: Some(&now),
                duration_ms: 0,
            },
        );
        conn.execute_batch(&sql).map_err(Error::engine("stamping"))?;
        Ok(true)
    })
}

/// Accepts the edited files of applied revision `rev`: records their
/// checksums now, logged as a `rehash`. Returns whether anything changed.
pub fn rehash(conn: &dyn Engine, rev: &Revision, opts: &Options) -> Result<bool> {
    write_if_changed(conn, opts, || {
        let applied = history::read_applied(conn)?;
        let Some(row) = applied.iter().find(|a| a.revision == rev.id) else {
            return Err(RunError::NotApplied {
                revision: rev.id.clone(),
            }
            .into());
        };
        if row.up_sha256 == rev.up.sha256 && row.down_sha256 == rev.down.sha256 {
            return Ok(false);
        }
        history::ensure(conn)?;
        let now = format_time(time::OffsetDateTime::now_utc());
        let sql = history::rehash_sql(
            &entry(rev),
            When {
                at: Some(&now),
                duration_ms: 0,
            },
        );
        conn.execute_batch(&sql).map_err(Error::engine("rehashing"))?;
        Ok(true)
    })
}

/// One bookkeeping write in a transaction: `work` says whether it changed
/// anything; committed if so, rolled back (nothing written) if not or on
/// error. `work` compares with what the database holds, so after a lost
/// connection it runs again on the new one and finds the write done or not.
fn write_if_changed(
    conn: &dyn Engine,
    opts: &Options,
    work: impl Fn() -> Result<bool>,
) -> Result<bool> {
    let mut reconnects = 0;
    // Whether a lost attempt was about to change something: if the next
    // one finds nothing to change, that attempt's COMMIT landed.
    let mut wanted = false;
    loop {
        let outcome = transaction(conn, opts, || {
            let changed = work()?;
            wanted |= changed;
            Ok((changed, if changed { End::Commit } else { End::Rollback }))
        });
        match outcome {
            Err(e) if e.is_lost() && reconnects < RECONNECTS => {
                reconnects += 1;
                reconnect(conn, opts, e)?;
            }
            Ok(changed) => return Ok(changed || wanted),
            Err(e) => return Err(e),
        }
    }
}

/// Renders the script `upgrade --sql` / `downgrade --sql` prints: every
/// statement of a real run, bookkeeping included, for `sqlite3 DB < out.sql`.
/// `how_to_run` is the header line that says where the script goes.
pub fn render_sql(
    migrations: &Migrations,
    goal: &Goal,
    from: &BTreeSet<String>,
    single_transaction: bool,
    heading: &str,
    how_to_run: &str,
) -> Result<String> {
    let direction = goal.direction();
    let path = migrations.graph.path(goal, from);
    let mut out = String::new();
    out.push_str(&format!(
        "-- {heading}\n-- generated by strata {}\n",
        crate::VERSION
    ));
    out.push_str(&format!("-- {how_to_run}\n"));
    if path.is_empty() {
        out.push_str("-- Nothing to do.\n");
        return Ok(out);
    }
    // Stop at the first error so a failed statement never reaches COMMIT
    // (the open transaction is rolled back when the shell exits).
    out.push_str(".bail on\n");
    out.push_str("PRAGMA foreign_keys = OFF;\n\n");
    // The shell prints `PRAGMA foreign_key_check` rows but does not stop on
    // them; a CHECK constraint turns violations into an error that stops it.
    let fk_guard = "CREATE TEMP TABLE IF NOT EXISTS strata_fk_guard (violations INTEGER CHECK (violations = 0));\n\
                    INSERT INTO temp.strata_fk_guard SELECT count(*) FROM pragma_foreign_key_check;\n";
    let when = When {
        at: None,
        duration_ms: 0,
    };
    let mut in_transaction = false;
    for (i, id) in path.iter().enumerate() {
        let rev = migrations.get(id).expect("path comes from this graph");
        let file = script_of(rev, direction);
        if single_transaction && !file.transactional {
            return Err(RunError::NonTransactional {
                revision: rev.id.clone(),
                mode: "--single-transaction",
            }
            .into());
        }
        if !in_transaction && file.transactional {
            out.push_str("BEGIN IMMEDIATE;\n");
            out.push_str(&history::ddl());
            in_transaction = true;
        }
        out.push_str(&format!(
            "\n-- Running {} {}, {}\n-- {}\n",
            direction.as_str(),
            arrow(rev, direction),
            rev.message,
            file.display
        ));
        let text = file.read()?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        out.push_str(text.trim_end());
        if split(text).last().is_some_and(|s| !s.text.ends_with(';')) {
            out.push(';');
        }
        out.push('\n');
        if !file.transactional {
            out.push_str("BEGIN IMMEDIATE;\n");
            out.push_str(&history::ddl());
        }
        out.push_str(fk_guard);
        out.push_str(&match direction {
            Direction::Upgrade => history::upgrade_sql(&entry(rev), when),
            Direction::Downgrade => history::downgrade_sql(&rev.id, &rev.covers, when),
        });
        let last = i + 1 == path.len();
        if !single_transaction || last || !file.transactional {
            out.push_str("COMMIT;\n");
            in_transaction = false;
        }
    }
    Ok(out)
}

/// `a -> b` for an upgrade, `b -> a` for a downgrade, `base` for no parent.
pub fn arrow(rev: &Revision, direction: Direction) -> String {
    let parents = if rev.parents.is_empty() {
        "base".to_string()
    } else {
        rev.parents.join(", ")
    };
    match direction {
        Direction::Upgrade => format!("{parents} -> {}", rev.id),
        Direction::Downgrade => format!("{} -> {parents}", rev.id),
    }
}
