//! Targets as the user types them: `head`, `base`, `+N`, `-N`, or a revision
//! id or unique prefix of one. Parsed once, resolved against a graph later.

use std::fmt;
use std::str::FromStr;

use super::GraphError;

/// Where `upgrade`, `downgrade` or `stamp` should take the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The single head of the graph.
    Head,
    /// No revision applied.
    Base,
    /// N steps from the current revision: positive up, negative down.
    Relative(i64),
    /// A full revision id or a unique prefix of one.
    Revision(String),
}

impl FromStr for Target {
    type Err = GraphError;

    fn from_str(text: &str) -> Result<Self, GraphError> {
        let invalid = || GraphError::InvalidTarget(text.to_string());
        match text {
            "" => Err(invalid()),
            "head" | "heads" => Ok(Target::Head),
            "base" => Ok(Target::Base),
            _ if text.starts_with('+') || text.starts_with('-') => {
                let n: i64 = text.parse().map_err(|_| invalid())?;
                if n == 0 {
                    return Err(invalid());
                }
                Ok(Target::Relative(n))
            }
            _ if text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
            {
                Ok(Target::Revision(text.to_string()))
            }
            _ => Err(invalid()),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Head => f.write_str("head"),
            Target::Base => f.write_str("base"),
            Target::Relative(n) if *n > 0 => write!(f, "+{n}"),
            Target::Relative(n) => write!(f, "{n}"),
            Target::Revision(id) => f.write_str(id),
        }
    }
}
