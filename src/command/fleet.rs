//! The verbs over a fleet of tenant databases (docs/fleet.md): what one
//! tenant's `upgrade`, `downgrade`, `stamp` or `current` is, as a task for
//! [`crate::fleet::run`]. Each opens an existing tenant (never creates one)
//! and gives it every single-database guarantee.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::Project;
use crate::fleet::{open_tenant, TenantResult, TenantStatus};
use crate::graph::{Direction, GraphError, Target};
use crate::runner::{self, Options};
use crate::script::Migrations;
use crate::{history, Migrator, Result};

/// What a fleet run does to each tenant.
#[derive(Debug, Clone)]
pub enum FleetVerb {
    Upgrade(String),
    Downgrade(String),
    Stamp(String),
    /// Read only: where each tenant is.
    Current,
    /// Read only: each tenant's schema against what its applied revisions
    /// build (`diff --against head`) or against schema.sql.
    Drift {
        against: super::Against,
        column_order: bool,
    },
}

/// Everything one tenant's task needs, loaded once for the whole fleet.
pub struct FleetTask {
    project: Project,
    migrator: Migrator,
    migrations: Migrations,
    verb: FleetVerb,
    lock_timeout: Duration,
    /// For `stamp`: the applied set every tenant gets.
    keep: BTreeSet<String>,
}

impl FleetTask {
    /// Loads the project's revisions and checks the target once.
    pub fn new(
        project: &Project,
        verb: FleetVerb,
        lock_timeout: Duration,
        backup: bool,
    ) -> Result<FleetTask> {
        let migrations = super::migrations(project)?;
        let migrator = Migrator::from_dir(&project.migrations)?
            .lock_timeout(lock_timeout)
            .backup(backup)
            .preload()?;
        let keep = match &verb {
            FleetVerb::Stamp(text) => match text.parse::<Target>()? {
                Target::Base => BTreeSet::new(),
                Target::Head => migrations.graph.ancestors(migrations.graph.single_head()?),
                Target::Revision(t) => migrations.graph.ancestors(migrations.graph.resolve(&t)?),
                Target::Relative(_) => return Err(GraphError::InvalidTarget(text.clone()).into()),
            },
            FleetVerb::Upgrade(t) | FleetVerb::Downgrade(t) => {
                // A bad target is one error for the run, not one per tenant.
                t.parse::<Target>()?;
                BTreeSet::new()
            }
            FleetVerb::Current | FleetVerb::Drift { .. } => BTreeSet::new(),
        };
        Ok(FleetTask {
            project: project.clone(),
            migrator,
            migrations,
            verb,
            lock_timeout,
            keep,
        })
    }

    /// The graph's heads, for telling stragglers apart.
    pub fn heads(&self) -> Vec<String> {
        self.migrations
            .graph
            .heads()
            .iter()
            .map(|h| h.to_string())
            .collect()
    }

    /// One tenant.
    pub fn run(&self, path: &Path) -> TenantResult {
        match &self.verb {
            FleetVerb::Upgrade(t) => self.migrator.tenant(path, Direction::Upgrade, t),
            FleetVerb::Downgrade(t) => self.migrator.tenant(path, Direction::Downgrade, t),
            FleetVerb::Stamp(_) => self.stamp(path),
            FleetVerb::Current => self.current(path),
            FleetVerb::Drift {
                against,
                column_order,
            } => self.drift(path, *against, *column_order),
        }
    }

    fn current_of(&self, applied: &BTreeSet<String>) -> Vec<String> {
        self.migrations
            .graph
            .current(applied)
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn stamp(&self, path: &Path) -> TenantResult {
        let started = Instant::now();
        let shown = crate::db::display_path(path);
        let outcome = open_tenant(path, self.lock_timeout).and_then(|conn| {
            crate::db::check_writable(&conn, path)?;
            let before =
                history::applied_ids(&self.migrations.normalize(history::read_applied(&conn)?));
            let options = Options {
                lock_timeout: self.lock_timeout,
                ..Options::default()
            };
            let label = self.current_of(&self.keep).join(",");
            let changed = runner::stamp(&conn, &self.migrations, &label, &self.keep, &options)?;
            Ok((before, changed))
        });
        match outcome {
            Ok((before, changed)) => TenantResult {
                database: shown,
                status: if changed {
                    TenantStatus::Done
                } else {
                    TenantStatus::Unchanged
                },
                from: self.current_known(&before),
                to: self.current_of(&self.keep),
                steps: 0,
                duration_ms: started.elapsed().as_millis() as u64,
                error: None,
                hint: None,
                changes: None,
            },
            Err(e) => TenantResult::failed(&shown, &e, started),
        }
    }

    /// Where a tenant is, read only; a tenant with unknown or edited
    /// applied revisions is a failure (the single-database refusals).
    fn current(&self, path: &Path) -> TenantResult {
        let started = Instant::now();
        let shown = crate::db::display_path(path);
        let outcome = (|| -> Result<crate::Status> {
            let conn = match crate::db::open_read_waiting(path, self.lock_timeout)? {
                Some(conn) => conn,
                None => {
                    return Err(crate::error::OpenError::Missing {
                        database: crate::db::display_path(path),
                    }
                    .into())
                }
            };
            // One read of the history serves the status and the checksums.
            let raw = history::read_applied(&conn)?;
            let status = self.migrator.status_of(&raw)?;
            let view = self.migrations.view(&raw)?;
            let rows = view.normalize(raw);
            if !status.unknown.is_empty() {
                return Err(crate::error::RunError::UnknownApplied {
                    revisions: status.unknown,
                }
                .into());
            }
            runner::verify_checksums(&view, &rows)?;
            Ok(status)
        })();
        match outcome {
            Ok(status) => TenantResult {
                database: shown,
                status: if status.pending.is_empty() {
                    TenantStatus::Unchanged
                } else {
                    TenantStatus::Done
                },
                from: status.current.clone(),
                to: status.current,
                steps: status.pending.len(),
                duration_ms: started.elapsed().as_millis() as u64,
                error: None,
                hint: None,
                changes: None,
            },
            Err(e) => TenantResult::failed(&shown, &e, started),
        }
    }

    /// `diff --against head` for one tenant: the single-database drift,
    /// on this tenant. Done = drifted (the changes listed), Unchanged = none.
    fn drift(&self, path: &Path, against: super::Against, column_order: bool) -> TenantResult {
        let started = Instant::now();
        let shown = crate::db::display_path(path);
        if !path.exists() {
            let e: crate::Error = crate::error::OpenError::Missing {
                database: shown.clone(),
            }
            .into();
            return TenantResult::failed(&shown, &e, started);
        }
        let tenant = Project {
            database: Some(path.to_path_buf()),
            cluster: None,
            ..self.project.clone()
        };
        match super::drift(&tenant, against, column_order) {
            Ok(report) => TenantResult {
                database: shown,
                status: if report.changes.is_empty() {
                    TenantStatus::Unchanged
                } else {
                    TenantStatus::Done
                },
                from: Vec::new(),
                to: Vec::new(),
                steps: report.changes.len(),
                duration_ms: started.elapsed().as_millis() as u64,
                error: None,
                hint: None,
                changes: Some(report.changes),
            },
            Err(e) => TenantResult::failed(&shown, &e, started),
        }
    }

    fn current_known(&self, applied: &BTreeSet<String>) -> Vec<String> {
        let known: BTreeSet<String> = applied
            .iter()
            .filter(|a| self.migrations.graph.contains(a))
            .cloned()
            .collect();
        self.current_of(&known)
    }
}

/// The tenants a list of globs names, relative to `dir`, each glob's
/// matches in order; a glob that matches nothing is an error (a typo must
/// not migrate nothing and succeed). The matches are walked as the run
/// takes them, not collected first.
pub fn glob_tenants(
    dir: &Path,
    patterns: &[String],
) -> Result<Box<dyn Iterator<Item = PathBuf> + Send>> {
    let mut all: Box<dyn Iterator<Item = PathBuf> + Send> = Box::new(std::iter::empty());
    for pattern in patterns {
        let full = if Path::new(pattern).is_absolute() {
            pattern.clone()
        } else {
            dir.join(pattern).to_string_lossy().into_owned()
        };
        let paths = glob::glob(&full).map_err(|e| crate::error::CommandError::BadFlagValue {
            flag: "--each",
            expected: "a glob such as 'tenants/*.db'",
            given: format!("{pattern} ({e})"),
        })?;
        let mut matched = paths
            .filter_map(|p| p.ok())
            .filter(|p| p.is_file())
            .peekable();
        if matched.peek().is_none() {
            return Err(crate::error::CommandError::FleetEmptyGlob {
                pattern: pattern.clone(),
            }
            .into());
        }
        all = Box::new(all.chain(matched));
    }
    Ok(all)
}
