//! The revision graph: built from plain `(id, parents)` pairs, with no files
//! and no database, so it can be tested in three lines.
//!
//! It answers the questions every command asks: which revisions are heads,
//! bases and branch points; what a target such as `head`, `+2`, `-1`, `base`
//! or an id prefix means; and, given the set of revisions a database has
//! applied, which revision to apply or revert next on the way to a goal.
//! The runner asks for one step at a time, inside its transaction, so a
//! concurrent process that already applied a revision is noticed.

mod target;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

pub use target::Target;

/// What can be wrong with a revision graph or with a target resolved on it.
/// Each variant's message (its `Display`) says what went wrong; the fields
/// are the values that message names.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("duplicate revision id '{0}'")]
    DuplicateRevision(String),
    #[error("revision '{revision}' names parent '{parent}', which does not exist")]
    UnknownParent { revision: String, parent: String },
    #[error("revision '{revision}' lists parent '{parent}' twice")]
    RepeatedParent { revision: String, parent: String },
    #[error("the revisions form a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    #[error("unknown revision '{0}'")]
    UnknownRevision(String),
    #[error("revision prefix '{prefix}' is ambiguous: it matches {}", .candidates.join(", "))]
    AmbiguousPrefix {
        prefix: String,
        candidates: Vec<String>,
    },
    #[error("invalid target '{0}'")]
    InvalidTarget(String),
    #[error("the revision graph has {} heads: {}", .0.len(), .0.join(", "))]
    MultipleHeads(Vec<String>),
    #[error("there are no revisions yet")]
    Empty,
    #[error("the database has revision '{0}' applied, but no revision file defines it")]
    MissingApplied(String),
    #[error("cannot upgrade to '{target}': it is behind the current revision {}", .current.join(", "))]
    UpgradeBehind {
        target: String,
        current: Vec<String>,
    },
    #[error(
        "cannot downgrade to '{target}': it is not applied (it is ahead of the current revision)"
    )]
    DowngradeAhead { target: String },
    #[error("relative target '{target}' asks for {wanted} revision(s), but only {available} can be {direction}d")]
    RelativeTooFar {
        target: String,
        wanted: usize,
        available: usize,
        direction: &'static str,
    },
    #[error("`{command}` goes {right}, but '{target}' points {wrong}: did you mean `strata {other} {target}`?", other = if *.command == "upgrade" { "downgrade" } else { "upgrade" })]
    WrongDirection {
        target: String,
        wrong: &'static str,
        right: &'static str,
        command: &'static str,
    },
    #[error("the database is at several revisions ({}); name the target revision instead of a relative step", .0.join(", "))]
    AmbiguousRelative(Vec<String>),
}

impl GraphError {
    /// Whether the error comes from what the user typed (exit code 2) rather
    /// than from the state of the project or database (exit code 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            GraphError::UnknownRevision(_)
                | GraphError::AmbiguousPrefix { .. }
                | GraphError::InvalidTarget(_)
                | GraphError::WrongDirection { .. }
        )
    }

    /// A suggestion for the user, where one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            GraphError::MultipleHeads(_) => {
                Some("join them with `strata merge -m \"merge heads\"`".into())
            }
            GraphError::UpgradeBehind { target, .. } => {
                Some(format!("to go back to it, run `strata downgrade {target}`"))
            }
            GraphError::DowngradeAhead { target } => {
                Some(format!("to apply it, run `strata upgrade {target}`"))
            }
            GraphError::MissingApplied(_) => Some(
                "the database was migrated with revision files this checkout lacks: update the checkout, or restore the files from version control (`strata history` marks them MISSING)".into(),
            ),
            GraphError::UnknownRevision(_) => Some("`strata history` lists the revisions".into()),
            _ => None,
        }
    }
}

/// Which way a step goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Applying revisions.
    Upgrade,
    /// Reverting them.
    Downgrade,
}

impl Direction {
    /// `upgrade` or `downgrade`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
        }
    }
}

/// Where a run is going, as a set of revisions, so that it can be re-checked
/// against a fresh read of the database before every step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Goal {
    /// Every revision in the set (closed under ancestors) must be applied.
    Apply(BTreeSet<String>),
    /// Every applied revision outside the set must be reverted.
    Keep(BTreeSet<String>),
}

impl Goal {
    pub fn direction(&self) -> Direction {
        match self {
            Goal::Apply(_) => Direction::Upgrade,
            Goal::Keep(_) => Direction::Downgrade,
        }
    }
}

/// A directed acyclic graph of revisions, parents before children.
#[derive(Debug, Clone)]
pub struct RevisionGraph {
    /// Revision ids in topological order: parents first, ties broken by id.
    ids: Vec<String>,
    index: HashMap<String, usize>,
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
}

impl RevisionGraph {
    /// Builds the graph from `(id, parents)` pairs; an empty parent list means
    /// the revision starts from `base`.
    pub fn new<I, S, P>(nodes: I) -> Result<Self, GraphError>
    where
        I: IntoIterator<Item = (S, P)>,
        S: Into<String>,
        P: IntoIterator,
        P::Item: Into<String>,
    {
        let mut names: Vec<String> = Vec::new();
        let mut raw_parents: Vec<Vec<String>> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (id, parents) in nodes {
            let id = id.into();
            if index.insert(id.clone(), names.len()).is_some() {
                return Err(GraphError::DuplicateRevision(id));
            }
            names.push(id);
            raw_parents.push(parents.into_iter().map(Into::into).collect());
        }
        let n = names.len();
        let mut parents = vec![Vec::new(); n];
        let mut children = vec![Vec::new(); n];
        for (i, ps) in raw_parents.iter().enumerate() {
            for p in ps {
                let Some(&j) = index.get(p) else {
                    return Err(GraphError::UnknownParent {
                        revision: names[i].clone(),
                        parent: p.clone(),
                    });
                };
                if parents[i].contains(&j) {
                    return Err(GraphError::RepeatedParent {
                        revision: names[i].clone(),
                        parent: p.clone(),
                    });
                }
                parents[i].push(j);
                children[j].push(i);
            }
        }
        let order = topological_order(&names, &parents, &children).map_err(|cycle| {
            GraphError::Cycle(cycle.into_iter().map(|i| names[i].clone()).collect())
        })?;
        // Renumber so that index order is topological order.
        let mut new_of_old = vec![0; n];
        for (new, &old) in order.iter().enumerate() {
            new_of_old[old] = new;
        }
        let remap = |v: &Vec<usize>| {
            let mut v: Vec<usize> = v.iter().map(|&o| new_of_old[o]).collect();
            v.sort_unstable();
            v
        };
        let ids: Vec<String> = order.iter().map(|&o| names[o].clone()).collect();
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let parents = order.iter().map(|&o| remap(&parents[o])).collect();
        let children = order.iter().map(|&o| remap(&children[o])).collect();
        Ok(RevisionGraph {
            ids,
            index,
            parents,
            children,
        })
    }

    /// Number of revisions.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the graph has no revisions.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// All revision ids, parents before children.
    pub fn topological(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.ids.iter().map(String::as_str)
    }

    /// Whether `id` is a revision of this graph.
    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    /// Position of `id` in topological order.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The parents of `id` (empty for a revision on `base`).
    pub fn parents(&self, id: &str) -> Vec<&str> {
        self.index
            .get(id)
            .map(|&i| {
                self.parents[i]
                    .iter()
                    .map(|&p| self.ids[p].as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The children of `id`.
    pub fn children(&self, id: &str) -> Vec<&str> {
        self.index
            .get(id)
            .map(|&i| {
                self.children[i]
                    .iter()
                    .map(|&c| self.ids[c].as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Revisions nothing builds on.
    pub fn heads(&self) -> Vec<&str> {
        (0..self.len())
            .filter(|&i| self.children[i].is_empty())
            .map(|i| self.ids[i].as_str())
            .collect()
    }

    /// Revisions that start from `base`.
    pub fn bases(&self) -> Vec<&str> {
        (0..self.len())
            .filter(|&i| self.parents[i].is_empty())
            .map(|i| self.ids[i].as_str())
            .collect()
    }

    /// Revisions with more than one child, each with its children.
    pub fn branch_points(&self) -> Vec<(&str, Vec<&str>)> {
        (0..self.len())
            .filter(|&i| self.children[i].len() > 1)
            .map(|i| {
                let kids = self.children[i]
                    .iter()
                    .map(|&c| self.ids[c].as_str())
                    .collect();
                (self.ids[i].as_str(), kids)
            })
            .collect()
    }

    /// The single head, or an error naming all of them.
    pub fn single_head(&self) -> Result<&str, GraphError> {
        match self.heads().as_slice() {
            [] => Err(GraphError::Empty),
            [one] => Ok(one),
            many => Err(GraphError::MultipleHeads(
                many.iter().map(|s| s.to_string()).collect(),
            )),
        }
    }

    /// Resolves a full id or a unique prefix of one.
    pub fn resolve(&self, text: &str) -> Result<&str, GraphError> {
        if let Some(&i) = self.index.get(text) {
            return Ok(&self.ids[i]);
        }
        let candidates: Vec<&str> = self
            .ids
            .iter()
            .filter(|id| !text.is_empty() && id.starts_with(text))
            .map(String::as_str)
            .collect();
        match candidates.as_slice() {
            [] => Err(GraphError::UnknownRevision(text.to_string())),
            [one] => Ok(one),
            many => {
                let mut candidates: Vec<String> = many.iter().map(|s| s.to_string()).collect();
                candidates.sort();
                Err(GraphError::AmbiguousPrefix {
                    prefix: text.to_string(),
                    candidates,
                })
            }
        }
    }

    /// `id` and all of its ancestors.
    pub fn ancestors(&self, id: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let Some(&start) = self.index.get(id) else {
            return BTreeSet::new();
        };
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                stack.extend(&self.parents[i]);
            }
        }
        seen.into_iter().map(|i| self.ids[i].clone()).collect()
    }

    /// `id` and all of its descendants.
    pub fn descendants(&self, id: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let Some(&start) = self.index.get(id) else {
            return BTreeSet::new();
        };
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                stack.extend(&self.children[i]);
            }
        }
        seen.into_iter().map(|i| self.ids[i].clone()).collect()
    }

    /// Every revision, for a goal of "everything applied".
    fn all(&self) -> BTreeSet<String> {
        self.ids.iter().cloned().collect()
    }

    /// Checks that every applied revision is known to the graph.
    pub fn check_applied(&self, applied: &BTreeSet<String>) -> Result<(), GraphError> {
        match applied.iter().find(|a| !self.contains(a)) {
            Some(missing) => Err(GraphError::MissingApplied(missing.clone())),
            None => Ok(()),
        }
    }

    /// The database's current revisions: applied revisions none of whose
    /// children are applied. Empty means `base`.
    pub fn current<'a>(&'a self, applied: &BTreeSet<String>) -> Vec<&'a str> {
        (0..self.len())
            .filter(|&i| applied.contains(&self.ids[i]))
            .filter(|&i| {
                !self.children[i]
                    .iter()
                    .any(|&c| applied.contains(&self.ids[c]))
            })
            .map(|i| self.ids[i].as_str())
            .collect()
    }

    /// Turns an upgrade target into a goal, given what is applied now.
    pub fn upgrade_goal(
        &self,
        target: &Target,
        applied: &BTreeSet<String>,
    ) -> Result<Goal, GraphError> {
        self.check_applied(applied)?;
        match target {
            Target::Base => Err(GraphError::WrongDirection {
                target: "base".into(),
                wrong: "down",
                right: "up",
                command: "upgrade",
            }),
            Target::Head => {
                if self.is_empty() {
                    return Ok(Goal::Apply(BTreeSet::new()));
                }
                self.single_head()?;
                Ok(Goal::Apply(self.all()))
            }
            Target::Relative(n) if *n < 0 => Err(GraphError::WrongDirection {
                target: target.to_string(),
                wrong: "down",
                right: "up",
                command: "upgrade",
            }),
            Target::Relative(n) => {
                let n = *n as usize;
                let head = self.single_head()?;
                let pending: Vec<&str> = self.path(&Goal::Apply(self.ancestors(head)), applied);
                if pending.len() < n {
                    return Err(GraphError::RelativeTooFar {
                        target: target.to_string(),
                        wanted: n,
                        available: pending.len(),
                        direction: "upgrade",
                    });
                }
                let mut want = applied.clone();
                for id in &pending[..n] {
                    want.insert(id.to_string());
                }
                Ok(Goal::Apply(want))
            }
            Target::Revision(text) => {
                let id = self.resolve(text)?;
                if applied.contains(id) {
                    let current = self.current(applied);
                    if !current.contains(&id) {
                        return Err(GraphError::UpgradeBehind {
                            target: id.to_string(),
                            current: current.iter().map(|s| s.to_string()).collect(),
                        });
                    }
                }
                Ok(Goal::Apply(self.ancestors(id)))
            }
        }
    }

    /// Turns a downgrade target into a goal, given what is applied now.
    pub fn downgrade_goal(
        &self,
        target: &Target,
        applied: &BTreeSet<String>,
    ) -> Result<Goal, GraphError> {
        self.check_applied(applied)?;
        match target {
            Target::Base => Ok(Goal::Keep(BTreeSet::new())),
            Target::Head => Err(GraphError::WrongDirection {
                target: "head".into(),
                wrong: "up",
                right: "down",
                command: "downgrade",
            }),
            Target::Relative(n) if *n > 0 => Err(GraphError::WrongDirection {
                target: target.to_string(),
                wrong: "up",
                right: "down",
                command: "downgrade",
            }),
            Target::Relative(n) => {
                let n = n.unsigned_abs() as usize;
                let mut keep = applied.clone();
                for step in 0..n {
                    let tips = self.current(&keep);
                    match tips.as_slice() {
                        [] => {
                            return Err(GraphError::RelativeTooFar {
                                target: target.to_string(),
                                wanted: n,
                                available: step,
                                direction: "downgrade",
                            })
                        }
                        [one] => {
                            let one = one.to_string();
                            keep.remove(&one);
                        }
                        many => {
                            return Err(GraphError::AmbiguousRelative(
                                many.iter().map(|s| s.to_string()).collect(),
                            ))
                        }
                    }
                }
                Ok(Goal::Keep(keep))
            }
            Target::Revision(text) => {
                let id = self.resolve(text)?;
                if !applied.contains(id) {
                    return Err(GraphError::DowngradeAhead {
                        target: id.to_string(),
                    });
                }
                Ok(Goal::Keep(self.ancestors(id)))
            }
        }
    }

    /// The next revision to apply or revert on the way to `goal`, or `None`
    /// when the goal is reached.
    pub fn next_step<'a>(&'a self, goal: &Goal, applied: &BTreeSet<String>) -> Option<&'a str> {
        match goal {
            // The first pending revision in topological order: its parents are
            // in the goal (it is closed under ancestors) and come earlier.
            Goal::Apply(want) => self
                .ids
                .iter()
                .find(|id| want.contains(*id) && !applied.contains(*id))
                .map(String::as_str),
            // The last applied revision outside the keep set: none of its
            // applied children can remain, since they come later.
            Goal::Keep(keep) => self
                .ids
                .iter()
                .rev()
                .find(|id| applied.contains(*id) && !keep.contains(*id))
                .map(String::as_str),
        }
    }

    /// Every step from `applied` to `goal`, in order: the steps `next_step`
    /// would return one by one, found in a single pass.
    pub fn path<'a>(&'a self, goal: &Goal, applied: &BTreeSet<String>) -> Vec<&'a str> {
        let ids = self.ids.iter().map(String::as_str);
        match goal {
            Goal::Apply(want) => ids
                .filter(|id| want.contains(*id) && !applied.contains(*id))
                .collect(),
            Goal::Keep(keep) => ids
                .rev()
                .filter(|id| applied.contains(*id) && !keep.contains(*id))
                .collect(),
        }
    }
}

/// Kahn's algorithm, smallest id first among the ready revisions so the order
/// is deterministic. On a cycle, returns one cycle's members in order.
fn topological_order(
    names: &[String],
    parents: &[Vec<usize>],
    children: &[Vec<usize>],
) -> Result<Vec<usize>, Vec<usize>> {
    let n = names.len();
    let mut waiting: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut ready: BinaryHeap<Reverse<(&str, usize)>> = (0..n)
        .filter(|&i| waiting[i] == 0)
        .map(|i| Reverse((names[i].as_str(), i)))
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse((_, i))) = ready.pop() {
        order.push(i);
        for &c in &children[i] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push(Reverse((names[c].as_str(), c)));
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Every unplaced node sits on or behind a cycle; walk parents among the
    // unplaced until a node repeats.
    let unplaced: Vec<bool> = (0..n).map(|i| waiting[i] > 0).collect();
    let mut node = (0..n).find(|&i| unplaced[i]).unwrap_or(0);
    let mut seen_at = HashMap::new();
    let mut walk = Vec::new();
    loop {
        if let Some(&at) = seen_at.get(&node) {
            let mut cycle: Vec<usize> = walk[at..].to_vec();
            cycle.reverse();
            cycle.push(cycle[0]);
            return Err(cycle);
        }
        seen_at.insert(node, walk.len());
        walk.push(node);
        node = match parents[node].iter().find(|&&p| unplaced[p]) {
            Some(&p) => p,
            None => return Err(walk),
        };
    }
}

#[cfg(test)]
mod tests;
