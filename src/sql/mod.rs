//! SQL text, lexically: a tokenizer over stored CREATE texts ([`lexer`]) and
//! a statement splitter for scripts ([`split`]). The lowest layer: it knows
//! nothing of schemas, revisions or databases, and every other module may
//! use it.

pub mod lexer;
pub mod split;

pub use lexer::*;
