//! Splits a SQL script into statements, each with the line it starts on, so
//! a failure can be reported as `FILE:LINE: message`.
//!
//! A statement ends at a `;` outside quotes and comments, except inside the
//! body of a `CREATE TRIGGER … BEGIN … END;`. This is the state machine of
//! SQLite's own `sqlite3_complete()` (sqlite.org/c3ref/complete.html), run
//! once over the text so a 100 MB script is split in linear time.

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement's text, from its first token through its `;` (if any).
    pub text: &'a str,
    /// Byte offset of `text` in the script.
    pub offset: usize,
    /// 1-based line of the statement's first token.
    pub line: usize,
}

impl Statement<'_> {
    /// The first keyword, upper-cased (`CREATE`, `BEGIN`, …).
    pub fn keyword(&self) -> String {
        self.text
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect::<String>()
            .to_ascii_uppercase()
    }

    /// Whether the statement opens, commits or rolls back a transaction —
    /// which only strata may do in a transactional script. `ROLLBACK TO` a
    /// savepoint is fine.
    pub fn is_transaction_control(&self) -> bool {
        match self.keyword().as_str() {
            "BEGIN" | "COMMIT" | "END" => true,
            "ROLLBACK" => {
                let words: Vec<String> = self
                    .text
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .filter(|w| !w.is_empty())
                    .take(3)
                    .map(str::to_ascii_uppercase)
                    .collect();
                !words.iter().skip(1).any(|w| w == "TO")
            }
            _ => false,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Token {
    Semi,
    Space,
    Other,
    Explain,
    Create,
    Temp,
    Trigger,
    End,
}

/// The transition table of `sqlite3_complete()`: state × token → state.
/// States: 0 invalid, 1 start, 2 normal, 3 explain, 4 create, 5 trigger,
/// 6 semi (inside a trigger), 7 end (inside a trigger).
const TRANSITIONS: [[u8; 8]; 8] = [
    // Semi Space Other Explain Create Temp Trigger End
    [1, 0, 2, 3, 4, 2, 2, 2],
    [1, 1, 2, 3, 4, 2, 2, 2],
    [1, 2, 2, 2, 2, 2, 2, 2],
    [1, 3, 3, 2, 4, 2, 2, 2],
    [1, 4, 2, 2, 2, 4, 5, 2],
    [6, 5, 5, 5, 5, 5, 5, 5],
    [6, 6, 5, 5, 5, 5, 5, 7],
    [1, 7, 5, 5, 5, 5, 5, 5],
];

fn token_index(t: Token) -> usize {
    match t {
        Token::Semi => 0,
        Token::Space => 1,
        Token::Other => 2,
        Token::Explain => 3,
        Token::Create => 4,
        Token::Temp => 5,
        Token::Trigger => 6,
        Token::End => 7,
    }
}

/// Splits `sql` into statements. Comment-only and empty pieces are skipped.
pub fn split(sql: &str) -> Vec<Statement<'_>> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let mut state = 0u8;
    let mut line = 1usize;
    // The first token of the statement being read: (offset, line).
    let mut first: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let start_line = line;
        let token = match bytes[i] {
            b';' => {
                i += 1;
                Token::Semi
            }
            b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' => {
                i += 1;
                Token::Space
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                Token::Space
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(bytes.len());
                Token::Space
            }
            quote @ (b'\'' | b'"' | b'`' | b'[') => {
                let close = if quote == b'[' { b']' } else { quote };
                i += 1;
                while i < bytes.len() && bytes[i] != close {
                    i += 1;
                }
                i = (i + 1).min(bytes.len());
                Token::Other
            }
            c if is_word_byte(c) => {
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                keyword(&sql[start..i])
            }
            _ => {
                i += 1;
                Token::Other
            }
        };
        line += bytes[start..i].iter().filter(|&&b| b == b'\n').count();
        if token != Token::Space && token != Token::Semi && first.is_none() {
            first = Some((start, start_line));
        }
        state = TRANSITIONS[state as usize][token_index(token)];
        if token == Token::Semi && state == 1 {
            if let Some((offset, first_line)) = first.take() {
                statements.push(Statement {
                    text: &sql[offset..i],
                    offset,
                    line: first_line,
                });
            }
        }
    }
    if let Some((offset, first_line)) = first {
        let text = sql[offset..].trim_end();
        statements.push(Statement {
            text,
            offset,
            line: first_line,
        });
    }
    statements
}

/// Bytes that continue an identifier or keyword: ASCII letters, digits, `_`,
/// `$` and every byte of a non-ASCII character (as SQLite's tokenizer does).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn keyword(word: &str) -> Token {
    const KEYWORDS: [(&str, Token); 6] = [
        ("EXPLAIN", Token::Explain),
        ("CREATE", Token::Create),
        ("TEMP", Token::Temp),
        ("TEMPORARY", Token::Temp),
        ("TRIGGER", Token::Trigger),
        ("END", Token::End),
    ];
    KEYWORDS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(word))
        .map_or(Token::Other, |(_, t)| *t)
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    1 + text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<(&str, usize)> {
        split(sql).iter().map(|s| (s.text, s.line)).collect()
    }

    #[test]
    fn statements_and_lines() {
        let sql =
            "-- header\n\nCREATE TABLE a(x);\nINSERT INTO a VALUES (';'); -- c\n/* x; */ SELECT 1";
        assert_eq!(
            texts(sql),
            [
                ("CREATE TABLE a(x);", 3),
                ("INSERT INTO a VALUES (';');", 4),
                ("SELECT 1", 5)
            ]
        );
    }

    #[test]
    fn trigger_bodies_stay_whole() {
        let sql = "CREATE TEMP TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET x = 1;\n  DELETE FROM b;\nEND;\nDROP TABLE c;";
        let got = texts(sql);
        assert_eq!(got.len(), 2);
        assert!(got[0].0.ends_with("END;"));
        assert_eq!(got[1], ("DROP TABLE c;", 5));
    }

    #[test]
    fn quoted_names_and_empty_pieces() {
        let sql = ";;\n\"we;ird\"; [a;b]; `c;d`;\n-- only a comment\n";
        assert_eq!(
            texts(sql),
            [("\"we;ird\";", 2), ("[a;b];", 2), ("`c;d`;", 2)]
        );
        assert!(split("  -- nothing\n/* here */").is_empty());
    }

    #[test]
    fn unterminated_quotes_do_not_panic() {
        assert_eq!(split("SELECT 'abc").len(), 1);
        assert_eq!(split("/* open").len(), 0);
        assert_eq!(split("SELECT \"é").len(), 1);
    }

    #[test]
    fn transaction_control() {
        let is_tc = |s: &str| split(s)[0].is_transaction_control();
        assert!(is_tc("BEGIN;"));
        assert!(is_tc("commit;"));
        assert!(is_tc("END TRANSACTION;"));
        assert!(is_tc("ROLLBACK;"));
        assert!(!is_tc("ROLLBACK TO sp;"));
        assert!(!is_tc("ROLLBACK TRANSACTION TO SAVEPOINT sp;"));
        assert!(!is_tc("SAVEPOINT sp;"));
        assert!(!is_tc("CREATE TABLE begin_(x);"));
    }
}
