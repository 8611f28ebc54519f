//! The verbs that only look: `history`, `current`, `heads`, `branches`,
//! `show`. They open the database read-only, if at all.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::config::Project;
use crate::error::CommandError;
use crate::graph::Target;
use crate::history::Applied;
use crate::script::Load;
use crate::script::Revision;
use crate::Result;

/// A revision's state in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Applied,
    Pending,
    /// Applied, but its file changed since.
    Modified,
    /// Applied, but no file defines it any more.
    Missing,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Modified => "MODIFIED",
            State::Missing => "MISSING",
        }
    }
}

/// One line of `history`.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub revision: String,
    pub parents: Vec<String>,
    pub message: String,
    pub created: String,
    pub is_head: bool,
    pub is_current: bool,
    /// `None` when no database is configured.
    pub state: Option<State>,
    pub applied_at: Option<String>,
    pub up: Option<String>,
    pub down: Option<String>,
}

/// `strata history`.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryReport {
    pub database: Option<String>,
    pub database_exists: bool,
    /// Newest first.
    pub revisions: Vec<HistoryEntry>,
}

fn state_of(rev: &Revision, applied: Option<&Applied>) -> State {
    match applied {
        None => State::Pending,
        Some(a) if a.up_sha256 != rev.up.sha256 || a.down_sha256 != rev.down.sha256 => {
            State::Modified
        }
        Some(_) => State::Applied,
    }
}

/// Resolves one end of a `-r FROM:TO` range.
fn range_end(migrations: &crate::script::Migrations, text: &str) -> Result<Option<String>> {
    match text.parse::<Target>()? {
        Target::Base => Ok(None),
        Target::Head if text.is_empty() => Ok(None),
        Target::Head => Ok(Some(migrations.graph.single_head()?.to_string())),
        Target::Revision(t) => Ok(Some(migrations.graph.resolve(&t)?.to_string())),
        Target::Relative(_) => Err(CommandError::BadTarget {
            what: "a history range",
            expected: "revisions, `base` or `head`",
            given: text.to_string(),
        }
        .into()),
    }
}

/// Every revision, newest first, with its state in the database if one is
/// reachable. `range` is `FROM:TO` (either side may be empty).
pub fn history(project: &Project, range: Option<&str>) -> Result<HistoryReport> {
    let (all, mut state) = super::revisions_and_state(project, crate::script::Load::All, false)?;
    let migrations = state.view(&all)?;
    let applied: HashMap<&str, &Applied> = state
        .applied
        .iter()
        .map(|a| (a.revision.as_str(), a))
        .collect();
    let applied_ids = state.applied_ids();
    let known: BTreeSet<String> = applied_ids
        .iter()
        .filter(|id| migrations.get(id).is_some())
        .cloned()
        .collect();
    let current: BTreeSet<&str> = migrations.graph.current(&known).into_iter().collect();
    let heads: BTreeSet<&str> = migrations.graph.heads().into_iter().collect();

    let selected: Option<BTreeSet<String>> = match range {
        None => None,
        Some(range) => {
            let (from, to) = range.split_once(':').unwrap_or((range, ""));
            let from = if from.is_empty() {
                None
            } else {
                range_end(&migrations, from)?
            };
            let to = if to.is_empty() {
                None
            } else {
                range_end(&migrations, to)?
            };
            let mut set: BTreeSet<String> =
                migrations.graph.topological().map(str::to_string).collect();
            if let Some(from) = from {
                set = set
                    .intersection(&migrations.graph.descendants(&from))
                    .cloned()
                    .collect();
            }
            if let Some(to) = to {
                set = set
                    .intersection(&migrations.graph.ancestors(&to))
                    .cloned()
                    .collect();
            }
            Some(set)
        }
    };
    let has_db = state.database.is_some();
    let mut revisions = Vec::new();
    // Applied revisions no file defines: shown first, they are the newest
    // thing the database knows about.
    if selected.is_none() {
        for row in state
            .applied
            .iter()
            .filter(|a| migrations.get(&a.revision).is_none())
        {
            revisions.push(HistoryEntry {
                revision: row.revision.clone(),
                parents: row.parents.clone(),
                message: row.message.clone(),
                created: String::new(),
                is_head: false,
                is_current: false,
                state: Some(State::Missing),
                applied_at: Some(row.applied_at.clone()),
                up: None,
                down: None,
            });
        }
    }
    for rev in migrations.in_order().rev() {
        if selected.as_ref().is_some_and(|s| !s.contains(&rev.id)) {
            continue;
        }
        let row = applied.get(rev.id.as_str()).copied();
        revisions.push(HistoryEntry {
            revision: rev.id.clone(),
            parents: rev.parents.clone(),
            message: rev.message.clone(),
            created: rev.created.clone(),
            is_head: heads.contains(rev.id.as_str()),
            is_current: current.contains(rev.id.as_str()),
            state: has_db.then(|| state_of(rev, row)),
            applied_at: row.map(|a| a.applied_at.clone()),
            up: Some(rev.up.display.clone()),
            down: Some(rev.down.display.clone()),
        });
    }
    Ok(HistoryReport {
        database: state.database,
        database_exists: state.exists,
        revisions,
    })
}

/// One revision as `current` and `heads` show it.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionSummary {
    pub revision: String,
    pub parents: Vec<String>,
    pub message: String,
    pub is_head: bool,
    pub applied_at: Option<String>,
}

/// `strata current`.
#[derive(Debug, Clone, Serialize)]
pub struct CurrentReport {
    pub database: String,
    pub database_exists: bool,
    /// Empty means the database is at base.
    pub current: Vec<RevisionSummary>,
    /// Revisions still to apply to reach head.
    pub pending: usize,
}

/// The database's current revision(s).
pub fn current(project: &Project) -> Result<CurrentReport> {
    // The history first: applied revisions' headers are in it, so only
    // pending revisions' files are opened.
    let shown = crate::config::display_path(&project.migrations);
    let mut state = match super::db_state(project, true) {
        Ok(state) => state,
        Err(e) => {
            // A problem with the revisions is reported before one with the
            // database, as every command does.
            crate::script::Migrations::load_for(&project.migrations, &shown, Load::Graph)?;
            return Err(e);
        }
    };
    let all = crate::script::Migrations::load_for(
        &project.migrations,
        &shown,
        Load::GraphKnowing(&state.applied),
    )?;
    let migrations = state.view(&all)?;
    let ids = state.applied_ids();
    migrations.graph.check_applied(&ids)?;
    let heads = migrations.graph.heads();
    let current = migrations
        .graph
        .current(&ids)
        .into_iter()
        .map(|id| {
            let rev = migrations.get(id).expect("checked above");
            RevisionSummary {
                revision: id.to_string(),
                parents: rev.parents.clone(),
                message: rev.message.clone(),
                is_head: heads.contains(&id),
                applied_at: state
                    .applied
                    .iter()
                    .find(|a| a.revision == id)
                    .map(|a| a.applied_at.clone()),
            }
        })
        .collect();
    let pending = migrations.graph.len() - ids.len();
    Ok(CurrentReport {
        database: state.database.unwrap_or_default(),
        database_exists: state.exists,
        current,
        pending,
    })
}

fn summary(rev: &Revision, is_head: bool) -> RevisionSummary {
    RevisionSummary {
        revision: rev.id.clone(),
        parents: rev.parents.clone(),
        message: rev.message.clone(),
        is_head,
        applied_at: None,
    }
}

/// The heads of the revision graph.
pub fn heads(project: &Project) -> Result<Vec<RevisionSummary>> {
    let migrations = super::revision_graph_only(project)?;
    Ok(migrations
        .graph
        .heads()
        .into_iter()
        .filter_map(|id| migrations.get(id))
        .map(|rev| summary(rev, true))
        .collect())
}

/// A branch point and the revisions that grow from it.
#[derive(Debug, Clone, Serialize)]
pub struct BranchPoint {
    pub revision: String,
    pub message: String,
    pub children: Vec<RevisionSummary>,
}

/// The branch points of the revision graph.
pub fn branches(project: &Project) -> Result<Vec<BranchPoint>> {
    let migrations = super::revision_graph_only(project)?;
    let heads = migrations.graph.heads();
    Ok(migrations
        .graph
        .branch_points()
        .into_iter()
        .filter_map(|(id, children)| {
            let rev = migrations.get(id)?;
            Some(BranchPoint {
                revision: rev.id.clone(),
                message: rev.message.clone(),
                children: children
                    .into_iter()
                    .filter_map(|c| migrations.get(c))
                    .map(|c| summary(c, heads.contains(&c.id.as_str())))
                    .collect(),
            })
        })
        .collect())
}

/// `strata show`: a revision's header and scripts.
#[derive(Debug, Clone, Serialize)]
pub struct ShowReport {
    pub revision: String,
    pub parents: Vec<String>,
    pub message: String,
    pub created: String,
    pub is_head: bool,
    pub up_file: String,
    pub down_file: String,
    pub up_sha256: String,
    pub down_sha256: String,
    pub up: String,
    pub down: String,
}

/// Shows `rev` (default: the head).
pub fn show(project: &Project, rev: Option<&str>) -> Result<ShowReport> {
    let migrations = super::migrations(project)?;
    let id = match rev.map(str::parse::<Target>).transpose()? {
        None | Some(Target::Head) => migrations.graph.single_head()?.to_string(),
        Some(Target::Revision(text)) => migrations.graph.resolve(&text)?.to_string(),
        Some(other) => {
            return Err(CommandError::BadTarget {
                what: "show",
                expected: "a revision or `head`",
                given: other.to_string(),
            }
            .into())
        }
    };
    let rev = migrations.get(&id).expect("resolved in this graph");
    Ok(ShowReport {
        revision: rev.id.clone(),
        parents: rev.parents.clone(),
        message: rev.message.clone(),
        created: rev.created.clone(),
        is_head: migrations.graph.heads().contains(&id.as_str()),
        up_file: rev.up.display.clone(),
        down_file: rev.down.display.clone(),
        up_sha256: rev.up.sha256.clone(),
        down_sha256: rev.down.sha256.clone(),
        up: rev.up.read()?,
        down: rev.down.read()?,
    })
}
