//! `Change` and `Change::reverse()`. A drop keeps the whole definition it
//! drops, so its reverse can re-create it; a rename reverses to a rename; a
//! table alteration from A to B reverses to one from B to A.

use crate::schema::{ConstraintKind, ConstraintText, Object, ObjectKind, Table};
use crate::sql::quote_string;

/// One difference between two schemas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    AddTable(Table),
    DropTable(Table),
    RenameTable {
        from: String,
        to: String,
    },
    RenameColumn {
        table: String,
        from: String,
        to: String,
    },
    /// The table's definition changed; `details` say how.
    AlterTable {
        from: Table,
        to: Table,
        details: Vec<Detail>,
    },
    AddObject(Object),
    DropObject(Object),
}

/// How a table's definition changed. Column names are as the `to` side
/// spells them (as the `from` side for dropped columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    AddColumn(String),
    DropColumn(String),
    Type {
        column: String,
        from: String,
        to: String,
    },
    NotNull {
        column: String,
        now: bool,
    },
    Default {
        column: String,
        from: Option<String>,
        to: Option<String>,
    },
    Collation {
        column: String,
        from: Option<String>,
        to: Option<String>,
    },
    PrimaryKey {
        from: Vec<String>,
        to: Vec<String>,
    },
    Generated {
        column: String,
        from: Option<String>,
        to: Option<String>,
    },
    Unique {
        column: String,
        now: bool,
    },
    ColumnCheck {
        column: String,
        from: Vec<String>,
        to: Vec<String>,
    },
    References {
        column: String,
        from: Option<String>,
        to: Option<String>,
    },
    /// The column's definition differs in a way none of the above names
    /// (an ON CONFLICT clause, a constraint name, AUTOINCREMENT…).
    Definition {
        column: String,
    },
    AddConstraint(ConstraintText),
    DropConstraint(ConstraintText),
    Strict(bool),
    WithoutRowid(bool),
}

impl Change {
    /// The change that undoes this one.
    pub fn reverse(&self) -> Change {
        match self {
            Change::AddTable(t) => Change::DropTable(t.clone()),
            Change::DropTable(t) => Change::AddTable(t.clone()),
            Change::RenameTable { from, to } => Change::RenameTable {
                from: to.clone(),
                to: from.clone(),
            },
            Change::RenameColumn { table, from, to } => Change::RenameColumn {
                table: table.clone(),
                from: to.clone(),
                to: from.clone(),
            },
            Change::AlterTable { from, to, details } => Change::AlterTable {
                from: to.clone(),
                to: from.clone(),
                details: details.iter().map(Detail::reverse).collect(),
            },
            Change::AddObject(o) => Change::DropObject(o.clone()),
            Change::DropObject(o) => Change::AddObject(o.clone()),
        }
    }

    /// The lines `migrate` prints, in the Alembic style:
    /// `Detected added table 'post'`.
    pub fn describe(&self) -> Vec<String> {
        self.describe_raw()
            .iter()
            .map(|line| crate::sql::one_line(line))
            .collect()
    }

    fn describe_raw(&self) -> Vec<String> {
        match self {
            Change::AddTable(t) => vec![format!("added table '{}'", t.name)],
            Change::DropTable(t) => vec![format!("removed table '{}'", t.name)],
            Change::RenameTable { from, to } => {
                vec![format!("renamed table '{from}' to '{to}'")]
            }
            Change::RenameColumn { table, from, to } => {
                vec![format!("renamed column '{table}.{from}' to '{to}'")]
            }
            Change::AlterTable { to, details, .. } => {
                details.iter().map(|d| d.describe(&to.name)).collect()
            }
            Change::AddObject(o) => vec![describe_object("added", o)],
            Change::DropObject(o) => vec![describe_object("removed", o)],
        }
    }
}

fn describe_object(verb: &str, o: &Object) -> String {
    match o.kind {
        ObjectKind::View => format!("{verb} view '{}'", o.name),
        ObjectKind::VirtualTable => format!("{verb} virtual table '{}'", o.name),
        kind => format!("{verb} {} '{}' on '{}'", kind.label(), o.name, o.table),
    }
}

fn show(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "none".into())
}

impl Detail {
    pub fn reverse(&self) -> Detail {
        let swap = |from: &Option<String>, to: &Option<String>| (to.clone(), from.clone());
        match self {
            Detail::AddColumn(c) => Detail::DropColumn(c.clone()),
            Detail::DropColumn(c) => Detail::AddColumn(c.clone()),
            Detail::Type { column, from, to } => Detail::Type {
                column: column.clone(),
                from: to.clone(),
                to: from.clone(),
            },
            Detail::NotNull { column, now } => Detail::NotNull {
                column: column.clone(),
                now: !now,
            },
            Detail::Default { column, from, to } => {
                let (from, to) = swap(from, to);
                Detail::Default {
                    column: column.clone(),
                    from,
                    to,
                }
            }
            Detail::Collation { column, from, to } => {
                let (from, to) = swap(from, to);
                Detail::Collation {
                    column: column.clone(),
                    from,
                    to,
                }
            }
            Detail::PrimaryKey { from, to } => Detail::PrimaryKey {
                from: to.clone(),
                to: from.clone(),
            },
            Detail::Generated { column, from, to } => {
                let (from, to) = swap(from, to);
                Detail::Generated {
                    column: column.clone(),
                    from,
                    to,
                }
            }
            Detail::Unique { column, now } => Detail::Unique {
                column: column.clone(),
                now: !now,
            },
            Detail::ColumnCheck { column, from, to } => Detail::ColumnCheck {
                column: column.clone(),
                from: to.clone(),
                to: from.clone(),
            },
            Detail::References { column, from, to } => {
                let (from, to) = swap(from, to);
                Detail::References {
                    column: column.clone(),
                    from,
                    to,
                }
            }
            Detail::Definition { column } => Detail::Definition {
                column: column.clone(),
            },
            Detail::AddConstraint(c) => Detail::DropConstraint(c.clone()),
            Detail::DropConstraint(c) => Detail::AddConstraint(c.clone()),
            Detail::Strict(on) => Detail::Strict(!on),
            Detail::WithoutRowid(on) => Detail::WithoutRowid(!on),
        }
    }

    /// One line for `migrate`'s report.
    pub fn describe(&self, table: &str) -> String {
        crate::sql::one_line(&self.describe_raw(table))
    }

    fn describe_raw(&self, table: &str) -> String {
        match self {
            Detail::AddColumn(c) => format!("added column '{table}.{c}'"),
            Detail::DropColumn(c) => format!("removed column '{table}.{c}'"),
            Detail::Type { column, from, to } => {
                let name = |t: &str| {
                    if t.is_empty() {
                        "(none)".to_string()
                    } else {
                        t.to_string()
                    }
                };
                format!(
                    "type change from {} to {} on '{table}.{column}'",
                    name(from),
                    name(to)
                )
            }
            Detail::NotNull { column, now } => format!(
                "NOT NULL {} on '{table}.{column}'",
                if *now { "added" } else { "removed" }
            ),
            Detail::Default { column, from, to } => format!(
                "default change from {} to {} on '{table}.{column}'",
                show(from),
                show(to)
            ),
            Detail::Collation { column, from, to } => format!(
                "collation change from {} to {} on '{table}.{column}'",
                show(from),
                show(to)
            ),
            Detail::PrimaryKey { from, to } => format!(
                "primary key change from ({}) to ({}) on '{table}'",
                from.join(", "),
                to.join(", ")
            ),
            Detail::Generated { column, from, to } => format!(
                "generated expression change from {} to {} on '{table}.{column}'",
                show(from),
                show(to)
            ),
            Detail::Unique { column, now } => format!(
                "UNIQUE {} on '{table}.{column}'",
                if *now { "added" } else { "removed" }
            ),
            Detail::ColumnCheck { column, to, .. } => format!(
                "CHECK change on '{table}.{column}': now {}",
                if to.is_empty() {
                    "none".to_string()
                } else {
                    to.join(" AND ")
                }
            ),
            Detail::References { column, from, to } => format!(
                "foreign key change on '{table}.{column}' from {} to {}",
                show(from),
                show(to)
            ),
            Detail::Definition { column } => {
                format!("definition change on '{table}.{column}'")
            }
            Detail::AddConstraint(c) => format!(
                "added {} on '{table}': {}",
                c.kind.label(),
                constraint_summary(c)
            ),
            Detail::DropConstraint(c) => format!(
                "removed {} on '{table}': {}",
                c.kind.label(),
                constraint_summary(c)
            ),
            Detail::Strict(on) => format!(
                "STRICT {} on '{table}'",
                if *on { "added" } else { "removed" }
            ),
            Detail::WithoutRowid(on) => format!(
                "WITHOUT ROWID {} on '{table}'",
                if *on { "added" } else { "removed" }
            ),
        }
    }

    /// Whether existing rows can break the rule this detail adds, so the
    /// up script must check them first.
    pub fn is_data_dependent(&self) -> bool {
        match self {
            Detail::NotNull { now, .. } | Detail::Unique { now, .. } => *now,
            Detail::ColumnCheck { to, .. } => !to.is_empty(),
            // A new parent, not just new ON DELETE / ON UPDATE actions.
            Detail::References { from, to, .. } => {
                to.is_some() && from.as_deref().map(fk_target) != to.as_deref().map(fk_target)
            }
            Detail::PrimaryKey { to, .. } => !to.is_empty(),
            Detail::AddConstraint(_) => true,
            _ => false,
        }
    }

    /// Whether applying this detail can lose or alter stored values.
    pub fn is_destructive(&self) -> bool {
        match self {
            Detail::DropColumn(_) => true,
            Detail::Type { from, to, .. } => is_narrowing(from, to),
            _ => false,
        }
    }
}

/// `REFERENCES parent (columns)` of a REFERENCES clause, as a comparison
/// key: what rows must match, without the actions.
fn fk_target(clause: &str) -> String {
    let tokens = crate::sql::tokenize(clause);
    let end = tokens
        .iter()
        .position(|t| t.is("on") || t.is("match") || t.is("not") || t.is("deferrable"))
        .unwrap_or(tokens.len());
    crate::sql::key_of(&tokens[..end])
}

/// A type change that can change stored values: any change of affinity,
/// except towards BLOB (none), which stores values as they are.
pub fn is_narrowing(from: &str, to: &str) -> bool {
    use crate::schema::affinity;
    let (a, b) = (affinity(from), affinity(to));
    a != b && b != "BLOB"
}

fn constraint_summary(c: &ConstraintText) -> String {
    match (c.kind, &c.expr) {
        (ConstraintKind::Check, Some(expr)) => expr.clone(),
        _ if !c.columns.is_empty() => format!("({})", c.columns.join(", ")),
        _ => quote_string(&c.text),
    }
}
