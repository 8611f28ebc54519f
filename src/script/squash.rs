//! Squashed revisions: one revision standing for many (`strata squash`).
//!
//! A squash's up script builds, from base, the schema its range built; its
//! header lists the revisions it replaces (`-- strata:replaces`), whose
//! files move to `migrations/squashed/`. Revisions after the range keep
//! their headers (their checksums are recorded in databases), so a parent
//! named in a squash's range means the squash.
//!
//! Databases never learn about squashes. Their history rows are read
//! through [`Migrations::normalize`]: a database that applied every
//! revision of a range is at the squash. A database part-way through a
//! range sees a *view* ([`Migrations::view`]) in which that squash is
//! undone — its replaced files stand in its place — so it upgrades through
//! them, exactly as it would have before the squash. One mechanism, the
//! revision graph, then does everything else.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use super::{Migrations, Revision, ScriptError};
use crate::graph::RevisionGraph;
use crate::history::Applied;

/// The folder, inside the migrations directory, holding replaced revisions.
pub const SQUASHED_DIR: &str = "squashed";

/// Every revision file a project has, shared by its views.
#[derive(Debug, Clone, Default)]
pub(super) struct Shelf {
    /// The migrations directory's own revisions.
    main: BTreeMap<String, Revision>,
    /// `squashed/`: revisions squashes replaced.
    squashed: BTreeMap<String, Revision>,
    /// Every squash either folder holds, with the revisions it lists.
    squashes: BTreeMap<String, Vec<String>>,
    /// How the squashed folder is shown in messages.
    display: String,
}

impl Migrations {
    /// Builds the project's view from its two folders' revisions.
    pub(super) fn from_parts(
        dir: &Path,
        display_dir: &str,
        mut main: BTreeMap<String, Revision>,
        mut squashed: BTreeMap<String, Revision>,
    ) -> Result<Migrations, ScriptError> {
        if let Some((id, rev)) = squashed.iter().find(|(id, _)| main.contains_key(*id)) {
            return Err(ScriptError::Duplicate {
                id: id.clone(),
                first: main[id].up.display.clone(),
                second: rev.up.display.clone(),
            });
        }
        let squashes: BTreeMap<String, Vec<String>> = main
            .values()
            .chain(squashed.values())
            .filter(|r| !r.replaces.is_empty())
            .map(|r| (r.id.clone(), r.replaces.clone()))
            .collect();
        if !squashes.is_empty() {
            for rev in main.values_mut().chain(squashed.values_mut()) {
                rev.covers = covers(&squashes, &rev.id);
            }
        }
        let display = format!("{display_dir}/{SQUASHED_DIR}");
        for squash in main.values().filter(|r| !r.covers.is_empty()) {
            if let Some(inside) = squash.covers.iter().find_map(|id| main.get(id)) {
                return Err(ScriptError::ReplacedInPlace {
                    file: inside.up.display.clone(),
                    down: inside.down.display.clone(),
                    id: inside.id.clone(),
                    squash: squash.id.clone(),
                    dir: display,
                });
            }
        }
        // Without squashes no other view is ever needed: the revisions are
        // not kept twice (a project of thousands loads for every command).
        let (own, main) = if squashes.is_empty() {
            (main, BTreeMap::new())
        } else {
            (main.clone(), main)
        };
        let shelf = Arc::new(Shelf {
            main,
            squashed,
            squashes,
            display,
        });
        Self::build(dir, own, shelf, BTreeSet::new())
    }

    /// The view that undoes the squashes in `undone`: each replaced by the
    /// revisions it lists, which must still be on the shelf.
    fn build(
        dir: &Path,
        mut revisions: BTreeMap<String, Revision>,
        shelf: Arc<Shelf>,
        undone: BTreeSet<String>,
    ) -> Result<Migrations, ScriptError> {
        loop {
            let open: Vec<String> = undone
                .iter()
                .filter(|id| revisions.contains_key(*id))
                .cloned()
                .collect();
            if open.is_empty() {
                break;
            }
            for squash in open {
                revisions.remove(&squash);
                for id in &shelf.squashes[&squash] {
                    let Some(rev) = shelf.squashed.get(id) else {
                        return Err(ScriptError::Pruned {
                            squash,
                            missing: id.clone(),
                            dir: shelf.display.clone(),
                        });
                    };
                    revisions.insert(id.clone(), rev.clone());
                }
            }
        }
        if shelf.squashes.is_empty() {
            return Self::assemble(dir, revisions, shelf, undone);
        }
        // A parent inside a squashed range means the squash standing for it.
        let stands_for: BTreeMap<&str, &str> = revisions
            .values()
            .flat_map(|s| s.covers.iter().map(move |id| (id.as_str(), s.id.as_str())))
            .collect();
        let aliases: Vec<(String, Vec<String>)> = revisions
            .values()
            .filter(|r| r.parents.iter().any(|p| stands_for.contains_key(p.as_str())))
            .map(|r| {
                let parents = r
                    .parents
                    .iter()
                    .map(|p| stands_for.get(p.as_str()).map_or(p.as_str(), |s| s))
                    .map(str::to_string)
                    .collect();
                (r.id.clone(), parents)
            })
            .collect();
        for (id, parents) in aliases {
            if let Some(rev) = revisions.get_mut(&id) {
                rev.parents = parents;
            }
        }
        Self::assemble(dir, revisions, shelf, undone)
    }

    fn assemble(
        dir: &Path,
        revisions: BTreeMap<String, Revision>,
        shelf: Arc<Shelf>,
        undone: BTreeSet<String>,
    ) -> Result<Migrations, ScriptError> {
        let graph = RevisionGraph::new(
            revisions
                .values()
                .map(|r| (r.id.clone(), r.parents.clone())),
        )?;
        Ok(Migrations {
            dir: dir.to_path_buf(),
            graph,
            revisions,
            shelf,
            undone,
        })
    }

    /// Whether this view undoes a squash: its database is part-way through
    /// a squashed range.
    pub fn is_undoing(&self) -> bool {
        !self.undone.is_empty()
    }

    /// Whether the project has squashed revisions at all.
    pub fn has_squashes(&self) -> bool {
        !self.shelf.squashes.is_empty()
    }

    /// The revisions in the squashed folder, by id.
    pub fn squashed(&self) -> impl Iterator<Item = &Revision> {
        self.shelf.squashed.values()
    }

    /// History rows as this view reads them: the rows of a squash's whole
    /// range become one row for the squash (applied when the last of them
    /// was), and rows a squash covers are dropped where the squash itself is
    /// recorded. Squashes this view undoes are left alone.
    pub fn normalize(&self, rows: Vec<Applied>) -> Vec<Applied> {
        if self.shelf.squashes.is_empty() {
            return rows;
        }
        let mut ids: BTreeSet<String> = rows.iter().map(|r| r.revision.clone()).collect();
        let mut made: Vec<String> = Vec::new();
        loop {
            let mut changed = false;
            for (squash, replaced) in &self.shelf.squashes {
                if self.undone.contains(squash) {
                    continue;
                }
                let all = replaced.iter().all(|r| ids.contains(r));
                let any = replaced.iter().any(|r| ids.contains(r));
                if any && (all || ids.contains(squash)) {
                    for r in replaced {
                        ids.remove(r);
                    }
                    if ids.insert(squash.clone()) {
                        made.push(squash.clone());
                    }
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut out: Vec<Applied> = Vec::with_capacity(rows.len());
        for squash in made.iter().filter(|s| ids.contains(*s)) {
            let Some(rev) = self.find(squash) else {
                continue;
            };
            let last = rows
                .iter()
                .filter(|r| rev.covers.contains(&r.revision))
                .map(|r| r.applied_at.as_str())
                .max()
                .unwrap_or_default()
                .to_string();
            out.push(Applied {
                revision: rev.id.clone(),
                parents: self
                    .revisions
                    .get(squash)
                    .map_or_else(|| rev.parents.clone(), |r| r.parents.clone()),
                message: rev.message.clone(),
                up_sha256: rev.up.sha256.clone(),
                down_sha256: rev.down.sha256.clone(),
                applied_at: last,
                duration_ms: 0,
            });
        }
        out.extend(rows.into_iter().filter(|r| ids.contains(&r.revision)));
        out.sort_by(|a, b| a.applied_at.cmp(&b.applied_at));
        out
    }

    /// The view a database with these history rows needs: this one, unless
    /// the database is part-way through a squashed range, in which case the
    /// squash is undone so its replaced revisions can be run.
    pub fn view(&self, rows: &[Applied]) -> Result<Cow<'_, Migrations>, ScriptError> {
        if self.shelf.squashes.is_empty() {
            return Ok(Cow::Borrowed(self));
        }
        let mut view = Cow::Borrowed(self);
        loop {
            let ids = view.normalize(rows.to_vec());
            let undo: BTreeSet<String> = ids
                .iter()
                .filter(|r| !view.revisions.contains_key(&r.revision))
                .filter_map(|r| {
                    view.revisions
                        .values()
                        .find(|s| s.covers.contains(&r.revision))
                        .map(|s| s.id.clone())
                })
                .collect();
            if undo.is_empty() {
                return Ok(view);
            }
            let mut undone = view.undone.clone();
            undone.extend(undo);
            view = Cow::Owned(Self::build(
                &self.dir,
                self.shelf.main.clone(),
                self.shelf.clone(),
                undone,
            )?);
        }
    }

    /// A revision on either shelf, by id.
    fn find(&self, id: &str) -> Option<&Revision> {
        self.shelf
            .main
            .get(id)
            .or_else(|| self.shelf.squashed.get(id))
    }

    /// Reads every file of both folders into memory, and this view's.
    pub(super) fn preload_shelf(&mut self) -> Result<(), ScriptError> {
        let shelf = Arc::make_mut(&mut self.shelf);
        for rev in shelf.main.values_mut().chain(shelf.squashed.values_mut()) {
            super::preload_revision(rev)?;
        }
        for rev in self.revisions.values_mut() {
            super::preload_revision(rev)?;
        }
        Ok(())
    }
}

/// Every revision `id` stands for, through the squashes it replaces.
fn covers(squashes: &BTreeMap<String, Vec<String>>, id: &str) -> Vec<String> {
    let mut out = BTreeSet::new();
    let mut todo = vec![id.to_string()];
    while let Some(next) = todo.pop() {
        for r in squashes.get(&next).into_iter().flatten() {
            if out.insert(r.clone()) {
                todo.push(r.clone());
            }
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(id: &str, parent: &str, extra: &str) -> [(String, &'static str); 2] {
        let up = format!("-- strata:revision {id}\n-- strata:parent {parent}\n{extra}\nSELECT 1;\n");
        let down = format!("-- strata:revision {id}\nSELECT 1;\n");
        [
            (format!("{id}_x.up.sql"), Box::leak(up.into_boxed_str())),
            (format!("{id}_x.down.sql"), Box::leak(down.into_boxed_str())),
        ]
    }

    fn applied(ids: &[&str]) -> Vec<Applied> {
        ids.iter()
            .map(|id| Applied {
                revision: id.to_string(),
                parents: Vec::new(),
                message: String::new(),
                up_sha256: String::new(),
                down_sha256: String::new(),
                applied_at: format!("2026-12-01T00:00:0{}Z", id.len()),
                duration_ms: 0,
            })
            .collect()
    }

    /// 1 → 2 squashed into 9; 3 follows 2.
    fn project() -> Migrations {
        let mut files: Vec<(String, &'static str)> = Vec::new();
        for (id, parent, folder) in [("1", "base", "squashed/"), ("2", "1", "squashed/"), ("3", "2", "")] {
            for (name, text) in rev(id, parent, "") {
                files.push((format!("{folder}{name}"), text));
            }
        }
        files.extend(rev("9", "base", "-- strata:replaces 1, 2"));
        let pairs: Vec<(&str, &'static str)> = files.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        Migrations::from_texts("migrations", &pairs).unwrap()
    }

    #[test]
    fn a_squash_stands_for_its_range_and_its_children_hang_from_it() {
        let m = project();
        assert_eq!(m.graph.topological().collect::<Vec<_>>(), ["9", "3"]);
        assert_eq!(m.get("3").unwrap().parents, ["9"]);
        let rows = m.normalize(applied(&["1", "2", "3"]));
        let ids: Vec<&str> = rows.iter().map(|r| r.revision.as_str()).collect();
        assert_eq!(ids, ["9", "3"]);
        assert_eq!(rows[0].up_sha256, m.get("9").unwrap().up.sha256);
        assert!(!m.view(&applied(&["1", "2"])).unwrap().is_undoing());
        assert_eq!(m.get("9").unwrap().covers, ["1", "2"]);
    }

    #[test]
    fn a_database_part_way_sees_the_replaced_revisions() {
        let m = project();
        let view = m.view(&applied(&["1"])).unwrap();
        assert!(view.is_undoing());
        assert_eq!(view.graph.topological().collect::<Vec<_>>(), ["1", "2", "3"]);
        assert_eq!(view.normalize(applied(&["1"])).len(), 1);
        // With the squashed files gone, the view cannot be built.
        let pruned = Migrations::from_texts(
            "migrations",
            &rev("9", "base", "-- strata:replaces 1, 2")
                .iter()
                .map(|(n, t)| (n.as_str(), *t))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert!(matches!(pruned.view(&applied(&["1"])), Err(ScriptError::Pruned { .. })));
        assert!(!pruned.view(&applied(&["1", "2"])).unwrap().is_undoing());
    }

    #[test]
    fn a_replaced_revision_left_beside_its_squash_is_an_error() {
        let mut files: Vec<(String, &'static str)> = rev("1", "base", "").into();
        files.extend(rev("9", "base", "-- strata:replaces 1"));
        let pairs: Vec<(&str, &'static str)> = files.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        let err = Migrations::from_texts("migrations", &pairs).unwrap_err();
        assert!(matches!(err, ScriptError::ReplacedInPlace { .. }), "{err}");
    }
}
