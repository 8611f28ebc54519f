//! Many databases in one run: one SQLite file per tenant, each brought to
//! its goal with every single-database guarantee, several at a time.
//!
//! The run is a pool of worker threads, each with its own connection,
//! taking tenants from one shared iterator and sending each result back as
//! it finishes: memory stays flat however many tenants there are, and the
//! caller can stream results. A failed tenant never stops the ones in
//! flight; the [`OnFailure`] policy says whether new ones start.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde::Serialize;

use crate::{Error, Migrator, Result};

/// What to do when a tenant fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// Start no new tenant once one has failed (those in flight finish).
    #[default]
    Stop,
    /// Go on with every tenant.
    Continue,
}

/// How a fleet run goes.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Tenants worked on at once.
    pub jobs: usize,
    /// Whether new tenants start after one failed.
    pub on_failure: OnFailure,
    /// Run this many tenants first, and stop if any of them fails.
    pub canary: usize,
}

/// The default `jobs`: the work is bound by fsync, not CPU, so more tenants
/// in flight than cores pays (docs/fleet.md has the measurement).
pub const DEFAULT_JOBS: usize = 8;

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            jobs: DEFAULT_JOBS,
            on_failure: OnFailure::Stop,
            canary: 0,
        }
    }
}

/// How one tenant ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    /// Revisions ran (or, for a read, the tenant was read).
    Done,
    /// Already at the goal: read, not written.
    Unchanged,
    /// Stopped with an error; its revisions in flight rolled back.
    Failed,
}

/// One tenant's result, streamed as it finishes.
#[derive(Debug, Clone, Serialize)]
pub struct TenantResult {
    /// The database, as listed.
    pub database: String,
    /// How it ended.
    pub status: TenantStatus,
    /// Its revisions before; empty means base.
    pub from: Vec<String>,
    /// Its revisions after.
    pub to: Vec<String>,
    /// Revisions applied or reverted.
    pub steps: usize,
    /// How long the tenant took, open to close.
    pub duration_ms: u64,
    /// The error's message, for a failed tenant.
    pub error: Option<String>,
    /// A suggestion, where the error has one.
    pub hint: Option<String>,
    /// `diff --against head`: how the tenant's schema differs from what its
    /// revisions built (absent for the other verbs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<String>>,
}

impl TenantResult {
    /// A failed tenant's result.
    pub fn failed(database: &str, error: &Error, started: Instant) -> TenantResult {
        TenantResult {
            database: database.to_string(),
            status: TenantStatus::Failed,
            from: Vec::new(),
            to: Vec::new(),
            steps: 0,
            duration_ms: started.elapsed().as_millis() as u64,
            error: Some(error.to_string()),
            hint: error.hint(),
            changes: None,
        }
    }
}

/// The whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FleetSummary {
    /// Tenants listed (after duplicates).
    pub listed: usize,
    /// Tenants whose revisions ran.
    pub done: usize,
    /// Tenants already at the goal.
    pub unchanged: usize,
    /// Tenants that failed.
    pub failed: usize,
    /// Listed but never started (a failure stopped the run, or a signal).
    pub not_started: usize,
    /// Whether the run stopped early: a failure under [`OnFailure::Stop`],
    /// a failed canary, or an interrupt.
    pub stopped: bool,
    /// The whole run's time.
    pub duration_ms: u64,
}

/// Opens an existing tenant for writing: never creates one (a missing file
/// is its own error). Whether it is a database shows at the first read;
/// whether it may be written is checked before the first write.
pub fn open_tenant(path: &Path, lock_timeout: Duration) -> Result<Connection> {
    crate::db::open_existing(path, lock_timeout).map_err(|e| {
        if path.exists() {
            e
        } else {
            crate::error::OpenError::Missing {
                database: crate::db::display_path(path),
            }
            .into()
        }
    })
}

/// Yields each tenant once, however it is named (two paths to one file
/// count once); a path that does not exist passes through, to fail as its
/// own tenant.
pub struct Distinct<I> {
    inner: I,
    seen: HashSet<FileKey>,
}

#[derive(Debug, Hash, PartialEq, Eq)]
enum FileKey {
    #[cfg(unix)]
    Inode(u64, u64),
    Path(PathBuf),
}

fn key_of(path: &Path) -> FileKey {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata(path) {
            return FileKey::Inode(meta.dev(), meta.ino());
        }
    }
    FileKey::Path(path.to_path_buf())
}

impl<I: Iterator<Item = PathBuf>> Iterator for Distinct<I> {
    type Item = PathBuf;
    fn next(&mut self) -> Option<PathBuf> {
        loop {
            let path = self.inner.next()?;
            if self.seen.insert(key_of(&path)) {
                return Some(path);
            }
        }
    }
}

/// `tenants` without duplicates.
pub fn distinct<I: Iterator<Item = PathBuf>>(tenants: I) -> Distinct<I> {
    Distinct {
        inner: tenants,
        seen: HashSet::new(),
    }
}

/// Runs `task` on every tenant, `options.jobs` at a time, telling
/// `on_result` about each as it finishes (on the calling thread, in the
/// order they finish). `stop` is checked before each new tenant starts: set
/// it (a signal handler does) to end the run early.
pub fn run<I, F>(
    tenants: I,
    options: &FleetOptions,
    stop: &AtomicBool,
    task: F,
    on_result: &mut dyn FnMut(&TenantResult),
) -> FleetSummary
where
    I: Iterator<Item = PathBuf> + Send,
    F: Fn(&Path) -> TenantResult + Sync,
{
    let started = Instant::now();
    let mut summary = FleetSummary::default();
    let tenants = Mutex::new(distinct(tenants).fuse());
    let mut count = |result: &TenantResult, summary: &mut FleetSummary| {
        match result.status {
            TenantStatus::Done => summary.done += 1,
            TenantStatus::Unchanged => summary.unchanged += 1,
            TenantStatus::Failed => summary.failed += 1,
        }
        on_result(result);
    };
    let failed = AtomicBool::new(false);
    // The canary, then the rest: the same pool, a smaller batch first.
    let batches = if options.canary > 0 {
        vec![Some(options.canary), None]
    } else {
        vec![None]
    };
    for batch in batches {
        if stop.load(Ordering::SeqCst) || failed.load(Ordering::SeqCst) {
            break;
        }
        let taken = Mutex::new(0usize);
        let (tx, rx) = mpsc::sync_channel::<TenantResult>(options.jobs.max(1) * 4);
        std::thread::scope(|scope| {
            for _ in 0..options.jobs.max(1) {
                let tx = tx.clone();
                let (tenants, taken, failed, task) = (&tenants, &taken, &failed, &task);
                let on_failure = options.on_failure;
                scope.spawn(move || loop {
                    let halt = stop.load(Ordering::SeqCst)
                        || (failed.load(Ordering::SeqCst)
                            && (on_failure == OnFailure::Stop || batch.is_some()));
                    if halt {
                        break;
                    }
                    let next = {
                        let mut taken = taken.lock().unwrap_or_else(|e| e.into_inner());
                        if batch.is_some_and(|n| *taken >= n) {
                            None
                        } else {
                            let next = tenants.lock().unwrap_or_else(|e| e.into_inner()).next();
                            if next.is_some() {
                                *taken += 1;
                            }
                            next
                        }
                    };
                    let Some(path) = next else { break };
                    let result = task(&path);
                    if result.status == TenantStatus::Failed {
                        failed.store(true, Ordering::SeqCst);
                    }
                    if tx.send(result).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            for result in rx {
                summary.listed += 1;
                count(&result, &mut summary);
            }
        });
        if batch.is_some() && failed.load(Ordering::SeqCst) {
            break;
        }
    }
    // What was listed but never started: counted, not held.
    let rest = tenants
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .count();
    summary.not_started = rest;
    summary.listed += rest;
    summary.stopped = rest > 0
        || stop.load(Ordering::SeqCst)
        || (failed.load(Ordering::SeqCst) && options.on_failure == OnFailure::Stop);
    summary.duration_ms = started.elapsed().as_millis() as u64;
    summary
}

impl Migrator {
    /// Upgrades every tenant to `target` (`head`, an id, `+N`), with this
    /// migrator's options (lock timeout, backup, newer databases), streaming
    /// each tenant's result to `on_result`. Tenants must exist; a fleet
    /// never creates a database.
    pub fn upgrade_fleet(
        &self,
        tenants: impl Iterator<Item = PathBuf> + Send,
        target: &str,
        options: &FleetOptions,
        on_result: &mut dyn FnMut(&TenantResult),
    ) -> FleetSummary {
        let stop = AtomicBool::new(false);
        run(
            tenants,
            options,
            &stop,
            |path| self.tenant(path, crate::Direction::Upgrade, target),
            on_result,
        )
    }

    /// One tenant of a fleet run: opened (never created), moved, reported.
    pub fn tenant(&self, path: &Path, direction: crate::Direction, target: &str) -> TenantResult {
        let started = Instant::now();
        let shown = crate::db::display_path(path);
        let outcome = open_tenant(path, self.timeout()).and_then(|conn| {
            let _watch = crate::interrupt::also_watch(&conn);
            // One read transaction for the look: one lock, one journal check.
            let read = |e| crate::Error::Sqlite {
                context: format!("reading {shown}"),
                source: e,
            };
            conn.execute_batch("BEGIN").map_err(read)?;
            let before = self.status(&conn);
            let _ = conn.execute_batch("COMMIT");
            let before = before?;
            // Already at head: one read, no write, no lock.
            if direction == crate::Direction::Upgrade
                && target == "head"
                && before.is_current()
                && !self.allows_newer()
            {
                return Ok((
                    before.current.clone(),
                    crate::Report {
                        direction,
                        steps: Vec::new(),
                        backup: None,
                        current: before.current,
                    },
                ));
            }
            crate::db::check_writable(&conn, path)?;
            let report = match direction {
                crate::Direction::Upgrade => self.upgrade_to(&conn, target)?,
                crate::Direction::Downgrade => self.downgrade(&conn, target)?,
            };
            Ok((before.current, report))
        });
        match outcome {
            Ok((from, report)) => TenantResult {
                database: shown,
                status: if report.steps.is_empty() {
                    TenantStatus::Unchanged
                } else {
                    TenantStatus::Done
                },
                from,
                to: report.current,
                steps: report.steps.len(),
                duration_ms: started.elapsed().as_millis() as u64,
                error: None,
                hint: None,
                changes: None,
            },
            Err(e) => TenantResult::failed(&shown, &e, started),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant_result(path: &Path, fail: bool) -> TenantResult {
        TenantResult {
            database: path.display().to_string(),
            status: if fail {
                TenantStatus::Failed
            } else {
                TenantStatus::Done
            },
            from: Vec::new(),
            to: Vec::new(),
            steps: 0,
            duration_ms: 0,
            error: None,
            hint: None,
            changes: None,
        }
    }

    fn paths(n: usize) -> Vec<PathBuf> {
        (0..n)
            .map(|i| PathBuf::from(format!("/nonexistent/t{i}.db")))
            .collect()
    }

    #[test]
    fn every_tenant_once_and_duplicates_count_once() {
        let mut list = paths(50);
        list.extend(paths(10));
        let mut seen = Vec::new();
        let summary = run(
            list.into_iter(),
            &FleetOptions::default(),
            &AtomicBool::new(false),
            |p| tenant_result(p, false),
            &mut |r| seen.push(r.database.clone()),
        );
        seen.sort();
        seen.dedup();
        assert_eq!((seen.len(), summary.listed, summary.done), (50, 50, 50));
        assert!(!summary.stopped);
    }

    #[test]
    fn stop_on_failure_starts_no_new_tenant_and_keep_going_does() {
        let fails = |p: &Path| tenant_result(p, p.to_string_lossy().contains("t3."));
        let options = FleetOptions {
            jobs: 1,
            ..FleetOptions::default()
        };
        let stop = AtomicBool::new(false);
        let summary = run(paths(20).into_iter(), &options, &stop, fails, &mut |_| {});
        assert_eq!(
            (summary.done, summary.failed, summary.not_started),
            (3, 1, 16)
        );
        assert!(summary.stopped);
        let keep = FleetOptions {
            on_failure: OnFailure::Continue,
            ..options
        };
        let summary = run(paths(20).into_iter(), &keep, &stop, fails, &mut |_| {});
        assert_eq!(
            (summary.done, summary.failed, summary.not_started),
            (19, 1, 0)
        );
    }

    #[test]
    fn a_failed_canary_stops_the_run() {
        // Even with --keep-going: a canary that fails ends the run at once.
        let options = FleetOptions {
            jobs: 1,
            on_failure: OnFailure::Continue,
            canary: 5,
        };
        let stop = AtomicBool::new(false);
        let fails = |p: &Path| tenant_result(p, p.to_string_lossy().contains("t2."));
        let summary = run(paths(100).into_iter(), &options, &stop, fails, &mut |_| {});
        assert_eq!(
            (summary.done, summary.failed, summary.not_started),
            (2, 1, 97)
        );
        assert!(summary.stopped);
        // A failure after the canary, under --keep-going, does not stop it.
        let late = |p: &Path| tenant_result(p, p.to_string_lossy().contains("t50."));
        let summary = run(paths(100).into_iter(), &options, &stop, late, &mut |_| {});
        assert_eq!(
            (summary.done, summary.failed, summary.not_started),
            (99, 1, 0)
        );
        let passes = |p: &Path| tenant_result(p, false);
        let summary = run(paths(100).into_iter(), &options, &stop, passes, &mut |_| {});
        assert_eq!(summary.done, 100);
    }

    #[test]
    fn a_stop_request_ends_the_run() {
        let stop = AtomicBool::new(false);
        let options = FleetOptions {
            jobs: 1,
            ..FleetOptions::default()
        };
        let summary = run(
            paths(10).into_iter(),
            &options,
            &stop,
            |p| {
                if p.to_string_lossy().contains("t4.") {
                    stop.store(true, Ordering::SeqCst);
                }
                tenant_result(p, false)
            },
            &mut |_| {},
        );
        assert_eq!((summary.done, summary.not_started), (5, 5));
        assert!(summary.stopped);
    }
}
