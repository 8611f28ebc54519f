//! The schema model: tables, columns, indexes, foreign keys, checks, views
//! and triggers, as read from a live database or from `schema.sql` executed
//! in an in-memory SQLite. Both sides go through the same inspector, so like
//! is compared with like.
//!
//! The model and its inspector arrive with autogenerate; until then this
//! module only names the objects strata owns and never diffs.

/// Tables that belong to strata's bookkeeping and never appear in a diff,
/// dump or check.
pub const BOOKKEEPING_TABLES: &[&str] = &["strata_history", "strata_log", "strata_meta"];

/// Whether `name` is an object that no diff, dump or check may touch:
/// strata's own tables and SQLite's internal ones.
pub fn is_internal(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("sqlite_") || BOOKKEEPING_TABLES.contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_names() {
        assert!(is_internal("strata_history"));
        assert!(is_internal("STRATA_LOG"));
        assert!(is_internal("sqlite_sequence"));
        assert!(!is_internal("user"));
        assert!(!is_internal("strata_historyx"));
    }
}
