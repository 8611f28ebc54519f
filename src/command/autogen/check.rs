//! `strata check`: schema.sql, the revisions and the database agree.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{desired_schema, replay, unified};
use crate::config::Project;
use crate::diff::{self, Change};
use crate::history;
use crate::schema::inspect::inspect;
use crate::{db, Result};

/// One thing `check` found wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub message: String,
    pub hint: Option<String>,
    /// A unified diff, where one explains the problem.
    pub diff: Option<String>,
}

/// What `check` found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub revisions: usize,
    pub problems: Vec<Problem>,
}

/// `strata check`, for CI: one head; the revisions, applied to an empty
/// database, give schema.sql; no applied revision's file changed.
pub fn check(project: &Project) -> Result<CheckReport> {
    let migrations = crate::command::migrations(project)?;
    let graph = &migrations.graph;
    let mut problems = Vec::new();
    if graph.heads().len() > 1 {
        problems.push(Problem {
            message: format!(
                "the revision graph has {} heads: {}",
                graph.heads().len(),
                graph.heads().join(", ")
            ),
            hint: Some("join them with `strata merge -m \"merge heads\"`".into()),
            diff: None,
        });
    }
    let desired = desired_schema(project)?;
    let all: BTreeSet<String> = migrations.in_order().map(|r| r.id.clone()).collect();
    match replay(project, &migrations, &all) {
        Err(e) => problems.push(Problem {
            message: format!("the revisions do not apply to an empty database: {e}"),
            hint: None,
            diff: None,
        }),
        Ok(conn) => {
            let built = inspect(&conn)?;
            let changes = diff::diff(&built, &desired);
            if !changes.is_empty() {
                let lines: Vec<String> = changes.iter().flat_map(Change::describe).collect();
                problems.push(Problem {
                    message: format!(
                        "schema.sql differs from what the revisions build: {}",
                        lines.join("; ")
                    ),
                    hint: Some(
                        "run `strata migrate -m \"…\"` to write a revision for the difference"
                            .into(),
                    ),
                    diff: Some(unified(&built, &desired, "revisions", "schema.sql")),
                });
            }
        }
    }
    if let Ok(path) = project.database() {
        if let Some(conn) = db::open_read(path)? {
            let raw = history::read_applied(&conn)?;
            let view = migrations.view(&raw)?;
            for row in view.normalize(raw) {
                match view.get(&row.revision) {
                    None => problems.push(Problem {
                        message: format!(
                            "revision {} is applied to the database but its files are missing",
                            row.revision
                        ),
                        hint: Some("restore the files from version control".into()),
                        diff: None,
                    }),
                    Some(rev)
                        if rev.up.sha256 != row.up_sha256 || rev.down.sha256 != row.down_sha256 =>
                    {
                        let file = if rev.up.sha256 != row.up_sha256 {
                            &rev.up
                        } else {
                            &rev.down
                        };
                        problems.push(Problem {
                            message: format!(
                                "{} was modified after revision {} was applied",
                                file.display, row.revision
                            ),
                            hint: Some(format!(
                                "restore the file; write a new revision for a new change; if the edit is intended, accept it with `strata rehash {}`",
                                row.revision
                            )),
                            diff: None,
                        });
                    }
                    Some(_) => {}
                }
            }
        }
    }
    Ok(CheckReport {
        revisions: all.len(),
        problems,
    })
}
