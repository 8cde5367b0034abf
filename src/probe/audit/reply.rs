//! RESP2 replies of the audit's commands (bulk strings, arrays, errors, simple strings, integers),
//! parsed from bytes by pure functions: [`End`] finds where a reply ends as reads arrive (resumable, so
//! a reply is scanned once), then [`parse`] turns exactly those bytes into a [`Value`] (or says they are
//! not RESP). The reader in [`super`] reads under a cap ([`super::REPLY_CAP`]) and one whole-reply
//! deadline; unit tests and proptests (the two agree on every input) cover them here.

/// Deepest nesting accepted (`CLUSTER SHARDS` nests four levels).
pub const MAX_DEPTH: usize = 8;

/// Most elements of one array (a `CLUSTER SHARDS` of a thousand nodes has far fewer).
pub const MAX_ELEMENTS: i64 = 1 << 20;

/// Longest header line (`*123\r\n`, `-ERR ...\r\n`): an error line is kept whole up to this.
pub const MAX_LINE: usize = 4096;

/// One RESP2 value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `+text`.
    Simple(Vec<u8>),
    /// `-ERR text`.
    Error(Vec<u8>),
    /// `:n`.
    Int(i64),
    /// `$n` bytes, or `$-1` (null).
    Bulk(Option<Vec<u8>>),
    /// `*n` values, or `*-1` (null).
    Array(Option<Vec<Value>>),
}

impl Value {
    /// The bytes of a bulk or simple string.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Bulk(Some(b)) | Self::Simple(b) => Some(b),
            _ => None,
        }
    }

    /// The elements of an array.
    pub fn items(&self) -> Option<&[Value]> {
        match self {
            Self::Array(Some(v)) => Some(v),
            _ => None,
        }
    }

    /// A string, integer or (for a string) parsed number as an integer.
    pub fn int(&self) -> Option<i64> {
        match self {
            Self::Int(n) => Some(*n),
            _ => std::str::from_utf8(self.bytes()?).ok()?.parse().ok(),
        }
    }
}

/// What the bytes read so far hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A whole reply, and the bytes it took.
    Complete(Value, usize),
    /// Not yet a whole reply: at least this many bytes in all are needed (a lower bound, so the reader
    /// parses again only once they are there).
    Incomplete(usize),
    /// Not RESP2, or beyond a cap.
    Invalid(&'static str),
}

/// Parses one reply from the start of `buf`.
pub fn parse(buf: &[u8]) -> Parsed {
    match value(buf, 0, 0) {
        Step::Done(v, end) => Parsed::Complete(v, end),
        Step::Need(n) => Parsed::Incomplete(n),
        Step::Bad(why) => Parsed::Invalid(why),
    }
}

/// Where a reply ends, found across reads without starting over: the offset of the next value header and
/// the elements still owed by each open array are kept between calls, so a reply arriving in many reads
/// is scanned once. ([`parse`] from the start after every read would be quadratic in a hostile reply's
/// size.) It builds no values; once it has found the end, [`parse`] runs once on exactly those bytes.
#[derive(Debug, Default)]
pub struct End {
    /// Where the next value header starts.
    at: usize,
    /// Elements still to come in each open array, outermost first.
    open: Vec<i64>,
}

impl End {
    /// `Ok(Some(n))` once `buf[..n]` holds a whole reply; `Ok(None)` while more bytes are needed; `Err`
    /// for what [`parse`] refuses too. `buf` must be the same bytes as before, grown at the end.
    ///
    /// # Errors
    /// Not RESP2, or beyond a cap.
    pub fn find(&mut self, buf: &[u8]) -> Result<Option<usize>, &'static str> {
        loop {
            let Some(&kind) = buf.get(self.at) else { return Ok(None) };
            let (text, next) = match line(buf, self.at + 1) {
                Ok(l) => l,
                Err(Step::Bad(why)) => return Err(why),
                Err(_) => return Ok(None),
            };
            let after = match kind {
                b'+' | b'-' => next,
                b':' => number(text).map(|_| next).ok_or("bad integer")?,
                b'$' => match number(text) {
                    Some(-1) => next,
                    Some(n) if n >= 0 => {
                        let len = usize::try_from(n).map_err(|_| "bulk string too long")?;
                        if len > super::REPLY_CAP {
                            return Err("bulk string longer than the reply cap");
                        }
                        // The header is read again next time (a few bytes): the body is not scanned.
                        if buf.len() < next + len + 2 {
                            return Ok(None);
                        }
                        if buf.get(next + len..next + len + 2) != Some(b"\r\n") {
                            return Err("bulk string not followed by CRLF");
                        }
                        next + len + 2
                    }
                    _ => return Err("bad bulk length"),
                },
                b'*' => match number(text) {
                    Some(-1) | Some(0) => next,
                    Some(n) if n > 0 && n <= MAX_ELEMENTS => {
                        if self.open.len() >= MAX_DEPTH {
                            return Err("arrays nested too deep");
                        }
                        self.open.push(n);
                        self.at = next;
                        continue;
                    }
                    _ => return Err("bad array length"),
                },
                _ => return Err("not a RESP2 reply"),
            };
            self.at = after;
            // A whole value: it settles one element of the innermost open array, which may close it.
            loop {
                match self.open.last_mut() {
                    None => return Ok(Some(self.at)),
                    Some(left) if *left > 1 => {
                        *left -= 1;
                        break;
                    }
                    Some(_) => {
                        self.open.pop();
                    }
                }
            }
        }
    }
}

enum Step {
    Done(Value, usize),
    Need(usize),
    Bad(&'static str),
}

/// The line starting at `at`, without its CRLF, and where the next one starts.
fn line(buf: &[u8], at: usize) -> Result<(&[u8], usize), Step> {
    let rest = buf.get(at..).unwrap_or_default();
    // Looked for only where a line may end: a long run of bytes without CRLF is refused, not scanned.
    let window = rest.get(..MAX_LINE + 2).unwrap_or(rest);
    match window.windows(2).position(|w| w == b"\r\n") {
        Some(i) if i <= MAX_LINE => Ok((rest.get(..i).unwrap_or_default(), at + i + 2)),
        Some(_) => Err(Step::Bad("header line too long")),
        None if rest.len() > MAX_LINE => Err(Step::Bad("header line too long")),
        None => Err(Step::Need(buf.len() + 1)),
    }
}

fn number(text: &[u8]) -> Option<i64> {
    if text.is_empty() || text.len() > 20 {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn value(buf: &[u8], at: usize, depth: usize) -> Step {
    let Some(&kind) = buf.get(at) else { return Step::Need(at + 1) };
    let (text, next) = match line(buf, at + 1) {
        Ok(l) => l,
        Err(step) => return step,
    };
    match kind {
        b'+' => Step::Done(Value::Simple(text.to_vec()), next),
        b'-' => Step::Done(Value::Error(text.to_vec()), next),
        b':' => match number(text) {
            Some(n) => Step::Done(Value::Int(n), next),
            None => Step::Bad("bad integer"),
        },
        b'$' => match number(text) {
            Some(-1) => Step::Done(Value::Bulk(None), next),
            Some(n) if n >= 0 => {
                let Ok(len) = usize::try_from(n) else { return Step::Bad("bulk string too long") };
                if len > super::REPLY_CAP {
                    return Step::Bad("bulk string longer than the reply cap");
                }
                let end = next + len;
                if buf.len() < end + 2 {
                    return Step::Need(end + 2);
                }
                if buf.get(end..end + 2) != Some(b"\r\n") {
                    return Step::Bad("bulk string not followed by CRLF");
                }
                Step::Done(Value::Bulk(Some(buf.get(next..end).unwrap_or_default().to_vec())), end + 2)
            }
            _ => Step::Bad("bad bulk length"),
        },
        b'*' => match number(text) {
            Some(-1) => Step::Done(Value::Array(None), next),
            Some(n) if (0..=MAX_ELEMENTS).contains(&n) => {
                if depth >= MAX_DEPTH {
                    return Step::Bad("arrays nested too deep");
                }
                let mut items = Vec::new();
                let mut pos = next;
                for _ in 0..n {
                    match value(buf, pos, depth + 1) {
                        Step::Done(v, end) => {
                            items.push(v);
                            pos = end;
                        }
                        other => return other,
                    }
                }
                Step::Done(Value::Array(Some(items)), pos)
            }
            _ => Step::Bad("bad array length"),
        },
        _ => Step::Bad("not a RESP2 reply"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(bytes: &[u8]) -> Value {
        match parse(bytes) {
            Parsed::Complete(v, n) => {
                assert_eq!(n, bytes.len());
                v
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_every_reply_kind() {
        assert_eq!(done(b"+OK\r\n"), Value::Simple(b"OK".to_vec()));
        assert_eq!(done(b"-NOPERM no\r\n"), Value::Error(b"NOPERM no".to_vec()));
        assert_eq!(done(b":42\r\n"), Value::Int(42));
        assert_eq!(done(b"$5\r\nhel\r\n\r\n"), Value::Bulk(Some(b"hel\r\n".to_vec())));
        assert_eq!(done(b"$-1\r\n"), Value::Bulk(None));
        assert_eq!(done(b"*-1\r\n"), Value::Array(None));
        assert_eq!(
            done(b"*2\r\n$4\r\nport\r\n*1\r\n:7\r\n"),
            Value::Array(Some(vec![Value::Bulk(Some(b"port".to_vec())), Value::Array(Some(vec![Value::Int(7)]))]))
        );
    }

    #[test]
    fn says_how_much_more_it_needs() {
        assert_eq!(parse(b""), Parsed::Incomplete(1));
        assert_eq!(parse(b"$10\r\nabc"), Parsed::Incomplete(17));
        assert!(matches!(parse(b"*2\r\n:1\r\n"), Parsed::Incomplete(_)));
        assert!(matches!(parse(b"+OK"), Parsed::Incomplete(_)));
    }

    #[test]
    fn refuses_what_is_not_resp_or_beyond_caps() {
        assert!(matches!(parse(b"HTTP/1.1 400\r\n"), Parsed::Invalid(_)));
        assert!(matches!(parse(b"$abc\r\n"), Parsed::Invalid(_)));
        assert!(matches!(parse(b"$99999999999\r\n"), Parsed::Invalid(_)));
        assert!(matches!(parse(b"*99999999999\r\n"), Parsed::Invalid(_)));
        assert!(matches!(parse(b"$3\r\nabcXY"), Parsed::Invalid(_)));
        assert!(matches!(parse(&[b'+'; MAX_LINE + 10]), Parsed::Invalid(_)));
        let deep = "*1\r\n".repeat(MAX_DEPTH + 1);
        assert!(matches!(parse(deep.as_bytes()), Parsed::Invalid(_)));
    }

    /// Feeds `wire` to an [`End`] one byte more at a time, as the slowest peer would send it.
    fn end_by_bytes(wire: &[u8]) -> Result<Option<usize>, &'static str> {
        let mut end = End::default();
        for cut in 0..=wire.len() {
            match end.find(wire.get(..cut).unwrap_or_default()) {
                Ok(None) => {}
                other => return other,
            }
        }
        Ok(None)
    }

    #[test]
    fn the_end_is_found_once_across_reads() {
        for wire in [
            &b"+OK\r\n"[..],
            b"$5\r\nhel\r\n\r\n",
            b"*2\r\n$4\r\nport\r\n*1\r\n:7\r\n",
            b"*3\r\n*0\r\n*-1\r\n$-1\r\n",
            b"*2\r\n*2\r\n:1\r\n:2\r\n+x\r\n",
        ] {
            assert_eq!(end_by_bytes(wire), Ok(Some(wire.len())), "{}", String::from_utf8_lossy(wire));
            // Bytes after the reply (a pipelined next one) are not counted in.
            let mut more = wire.to_vec();
            more.extend_from_slice(b"+NEXT\r\n");
            assert_eq!(End::default().find(&more), Ok(Some(wire.len())));
        }
        assert!(End::default().find("*1\r\n".repeat(MAX_DEPTH + 1).as_bytes()).is_err());
        assert!(End::default().find(&[b'+'; MAX_LINE + 10]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn end_agrees_with_parse(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let whole = End::default().find(&bytes);
            match parse(&bytes) {
                Parsed::Complete(_, n) => {
                    proptest::prop_assert_eq!(whole, Ok(Some(n)));
                    proptest::prop_assert_eq!(end_by_bytes(&bytes), Ok(Some(n)));
                }
                Parsed::Incomplete(_) => proptest::prop_assert_eq!(whole, Ok(None)),
                Parsed::Invalid(_) => proptest::prop_assert!(whole.is_err()),
            }
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            if let Parsed::Complete(_, n) = parse(&bytes) {
                proptest::prop_assert!(n <= bytes.len());
            }
        }

        #[test]
        fn a_bulk_string_round_trips(body in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let mut wire = format!("${}\r\n", body.len()).into_bytes();
            wire.extend_from_slice(&body);
            wire.extend_from_slice(b"\r\n");
            // Every strict prefix is incomplete, the whole is the value.
            for cut in 0..wire.len() {
                let incomplete = matches!(parse(wire.get(..cut).unwrap_or_default()), Parsed::Incomplete(_));
                proptest::prop_assert!(incomplete);
            }
            proptest::prop_assert_eq!(parse(&wire), Parsed::Complete(Value::Bulk(Some(body)), wire.len()));
        }
    }
}
