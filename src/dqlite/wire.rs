//! dqlite's wire protocol (`doc/protocol.md` in canonical/dqlite): every
//! message is a one-word header (body size in words, type, revision) and a
//! body of 8-byte-aligned fields. Only the requests strata sends are here.

use std::io::{self, Read, Write};

use crate::engine::Value;

/// The protocol version a client announces right after connecting.
pub const PROTOCOL_VERSION: u64 = 1;

/// Request type codes.
pub mod request {
    pub const LEADER: u8 = 0;
    pub const OPEN: u8 = 3;
    pub const EXEC_SQL: u8 = 8;
    pub const QUERY_SQL: u8 = 9;
    pub const DUMP: u8 = 15;
    pub const CLUSTER: u8 = 16;
}

/// Response type codes.
pub mod response {
    pub const FAILURE: u8 = 0;
    pub const NODE: u8 = 1;
    pub const SERVERS: u8 = 3;
    pub const DB: u8 = 4;
    pub const RESULT: u8 = 6;
    pub const ROWS: u8 = 7;
    pub const FILES: u8 = 9;
}

/// A rows batch ends with one of these: the result set is complete, or
/// another batch follows.
const ROWS_DONE: u64 = 0xffff_ffff_ffff_ffff;
const ROWS_PART: u64 = 0xeeee_eeee_eeee_eeee;

/// Value type codes, in parameter tuples and row headers.
mod kind {
    pub const INTEGER: u8 = 1;
    pub const FLOAT: u8 = 2;
    pub const TEXT: u8 = 3;
    pub const BLOB: u8 = 4;
    pub const NULL: u8 = 5;
    pub const UNIXTIME: u8 = 9;
    pub const ISO8601: u8 = 10;
    pub const BOOLEAN: u8 = 11;
}

/// A message body under construction.
#[derive(Default)]
pub struct Body(Vec<u8>);

impl Body {
    pub fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn text(mut self, s: &str) -> Self {
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        self.pad()
    }

    fn pad(mut self) -> Self {
        while !self.0.len().is_multiple_of(8) {
            self.0.push(0);
        }
        self
    }

    /// A parameter tuple: a count byte and a type byte per value, padded to
    /// a word, then the values.
    pub fn params(mut self, params: &[Value]) -> io::Result<Self> {
        let count = u8::try_from(params.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "more than 255 parameters"))?;
        self.0.push(count);
        for p in params {
            self.0.push(match p {
                Value::Null => kind::NULL,
                Value::Integer(_) => kind::INTEGER,
                Value::Real(_) => kind::FLOAT,
                Value::Text(_) => kind::TEXT,
                Value::Blob(_) => kind::BLOB,
            });
        }
        self = self.pad();
        for p in params {
            self = match p {
                Value::Null => self.u64(0),
                Value::Integer(i) => self.u64(*i as u64),
                Value::Real(f) => self.u64(f.to_bits()),
                Value::Text(s) => self.text(s),
                Value::Blob(b) => {
                    let mut body = self.u64(b.len() as u64);
                    body.0.extend_from_slice(b);
                    body.pad()
                }
            };
        }
        Ok(self)
    }
}

/// Writes one request.
pub fn send(out: &mut impl Write, kind: u8, body: Body) -> io::Result<()> {
    let words = u32::try_from(body.0.len() / 8)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "request too large"))?;
    let mut message = Vec::with_capacity(8 + body.0.len());
    message.extend_from_slice(&words.to_le_bytes());
    message.extend_from_slice(&[kind, 0, 0, 0]);
    message.extend_from_slice(&body.0);
    out.write_all(&message)
}

/// One response: its type and body.
pub struct Message {
    pub kind: u8,
    body: Vec<u8>,
    at: usize,
}

/// Reads one response.
pub fn recv(input: &mut impl Read) -> io::Result<Message> {
    let mut header = [0u8; 8];
    input.read_exact(&mut header)?;
    let words = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
    let mut body = vec![0u8; words * 8];
    input.read_exact(&mut body)?;
    Ok(Message {
        kind: header[4],
        body,
        at: 0,
    })
}

fn malformed(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed dqlite response ({what})"),
    )
}

impl Message {
    fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.body.len());
        let end = end.ok_or_else(|| malformed("body too short"))?;
        let bytes = &self.body[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    pub fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    pub fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    fn peek_u64(&self) -> Option<u64> {
        self.body
            .get(self.at..self.at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    pub fn text(&mut self) -> io::Result<String> {
        let rest = &self.body[self.at..];
        let nul = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| malformed("unterminated text"))?;
        let text = String::from_utf8_lossy(&rest[..nul]).into_owned();
        let padded = (nul + 1).div_ceil(8) * 8;
        self.take(padded)?;
        Ok(text)
    }

    fn blob(&mut self) -> io::Result<Vec<u8>> {
        let len = usize::try_from(self.u64()?).map_err(|_| malformed("blob size"))?;
        let bytes = self.take(len)?.to_vec();
        let pad = len.div_ceil(8) * 8 - len;
        self.take(pad)?;
        Ok(bytes)
    }

    /// A failure response's code and message.
    pub fn failure(&mut self) -> io::Result<(u64, String)> {
        Ok((self.u64()?, self.text()?))
    }

    /// Appends the rows of one batch to `rows`; returns whether the result
    /// set is complete (`false`: another batch follows).
    pub fn rows(&mut self, rows: &mut Vec<Vec<Value>>) -> io::Result<bool> {
        let columns = usize::try_from(self.u64()?).map_err(|_| malformed("column count"))?;
        for _ in 0..columns {
            self.text()?;
        }
        loop {
            match self.peek_u64() {
                Some(ROWS_DONE) => return Ok(true),
                Some(ROWS_PART) => return Ok(false),
                None => return Err(malformed("rows without an end marker")),
                Some(_) => {}
            }
            // A header of 4-bit type codes, padded to a word.
            let header = self.take(columns.div_ceil(16) * 8)?.to_vec();
            let mut row = Vec::with_capacity(columns);
            for i in 0..columns {
                let code = (header[i / 2] >> ((i % 2) * 4)) & 0x0f;
                row.push(match code {
                    kind::INTEGER | kind::UNIXTIME => Value::Integer(self.u64()? as i64),
                    kind::BOOLEAN => Value::Integer(self.u64()? as i64),
                    kind::FLOAT => Value::Real(f64::from_bits(self.u64()?)),
                    kind::TEXT | kind::ISO8601 => Value::Text(self.text()?),
                    kind::BLOB => Value::Blob(self.blob()?),
                    kind::NULL => {
                        self.u64()?;
                        Value::Null
                    }
                    _ => return Err(malformed("unknown value type")),
                });
            }
            rows.push(row);
        }
    }

    /// The files of a dump response: (name, content) pairs.
    pub fn files(&mut self) -> io::Result<Vec<(String, Vec<u8>)>> {
        let count = self.u64()?;
        let mut files = Vec::new();
        for _ in 0..count {
            let name = self.text()?;
            let size = usize::try_from(self.u64()?).map_err(|_| malformed("file size"))?;
            let content = self.take(size)?.to_vec();
            let pad = size.div_ceil(8) * 8 - size;
            self.take(pad)?;
            files.push((name, content));
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_word_aligned_with_their_size_in_the_header() {
        let mut out = Vec::new();
        let body = Body::default()
            .u64(7)
            .text("SELECT 1")
            .params(&[Value::Integer(-1), Value::Text("ab".into()), Value::Null])
            .unwrap();
        send(&mut out, request::EXEC_SQL, body).unwrap();
        assert_eq!(out.len() % 8, 0);
        let words = u32::from_le_bytes(out[..4].try_into().unwrap()) as usize;
        assert_eq!(words * 8, out.len() - 8);
        assert_eq!(out[4], request::EXEC_SQL);
        // "SELECT 1\0" takes two words; then the tuple header.
        assert_eq!(&out[16..25], b"SELECT 1\0");
        assert_eq!(&out[32..36], &[3, kind::INTEGER, kind::TEXT, kind::NULL]);
        assert_eq!(i64::from_le_bytes(out[40..48].try_into().unwrap()), -1);
    }

    fn message(kind: u8, body: Body) -> Message {
        let mut out = Vec::new();
        send(&mut out, kind, body).unwrap();
        recv(&mut out.as_slice()).unwrap()
    }

    #[test]
    fn rows_decode_each_type_and_the_end_marker() {
        // Two columns: a row (1, 'x'), then a row (NULL, 2.5), then done.
        let mut body = Body::default().u64(2).text("a").text("b");
        body.0.extend_from_slice(&[kind::INTEGER | (kind::TEXT << 4), 0, 0, 0, 0, 0, 0, 0]);
        body = body.u64(1).text("x");
        body.0.extend_from_slice(&[kind::NULL | (kind::FLOAT << 4), 0, 0, 0, 0, 0, 0, 0]);
        body = body.u64(0).u64(2.5f64.to_bits()).u64(ROWS_DONE);
        let mut rows = Vec::new();
        assert!(message(response::ROWS, body).rows(&mut rows).unwrap());
        assert_eq!(
            rows,
            vec![
                vec![Value::Integer(1), Value::Text("x".into())],
                vec![Value::Null, Value::Real(2.5)],
            ]
        );
        let part = Body::default().u64(1).text("a").u64(ROWS_PART);
        assert!(!message(response::ROWS, part).rows(&mut Vec::new()).unwrap());
    }

    #[test]
    fn a_truncated_response_is_an_error_not_a_panic() {
        let body = Body::default().u64(3).text("a");
        let err = message(response::ROWS, body).rows(&mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let mut m = message(response::FILES, Body::default().u64(1).text("f").u64(1 << 40));
        assert!(m.files().is_err());
    }
}
