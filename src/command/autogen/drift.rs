//! `strata diff` (drift between schema.sql, the revisions and the database) and `strata dump`.

use serde::Serialize;

use super::{desired_schema, existing_database, inspect_project, replay, unified};
use crate::config::{display_path, Project};
use crate::diff::{self};
use crate::history;
use crate::schema::inspect::inspect;
use crate::Result;

/// What `diff` compares the database against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Against {
    /// schema.sql.
    Schema,
    /// What the applied revisions should have built.
    Head,
}

/// What `diff` found.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub against: Against,
    pub database: String,
    /// The changes that would take the database to the other side.
    pub changes: Vec<String>,
    pub unified: String,
}

/// `strata diff`: drift between the live database and schema.sql (or what
/// its applied revisions should have built). Read-only. Column order counts
/// only with `column_order`: `ADD COLUMN` appends, so a column schema.sql
/// lists in the middle is at the end of the live table.
pub fn drift(project: &Project, against: Against, column_order: bool) -> Result<DiffReport> {
    let (conn, path) = existing_database(project)?;
    let live = inspect_project(project, &conn)?;
    let (other, name) = match against {
        Against::Schema => (desired_schema(project)?, "schema.sql".to_string()),
        Against::Head => {
            let migrations = crate::command::migrations(project)?;
            let applied =
                history::applied_ids(&migrations.normalize(history::read_applied(&conn)?));
            migrations.graph.check_applied(&applied)?;
            let built = replay(project, &migrations, &applied)?;
            (inspect(&built)?, "revisions".to_string())
        }
    };
    let mut changes: Vec<String> = diff::describe_all(&diff::diff(&live, &other));
    if column_order {
        changes.extend(diff::column_order(&live, &other));
    }
    Ok(DiffReport {
        against,
        database: display_path(path),
        unified: if changes.is_empty() {
            String::new()
        } else {
            unified(&live, &other, "database", &name)
        },
        changes,
    })
}

/// `strata dump`: the live database's schema as normalized DDL.
pub fn dump(project: &Project) -> Result<String> {
    let (conn, _) = existing_database(project)?;
    Ok(inspect_project(project, &conn)?.dump())
}
