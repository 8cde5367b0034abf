//! Bounded local input: every file the tool reads (targets, exclusions, PEM, journals, reports) goes
//! through a byte cap, so `-f /dev/zero` or `diff DIR /dev/urandom` ends at once with a `file:line`
//! error instead of growing memory. Used by [`crate::targets`], [`crate::config`], [`crate::report`]
//! and [`crate::diff`] before anything else looks at the bytes.

use std::fmt;
use std::io::{self, BufRead, Read};
use std::path::Path;

/// Longest target or exclusion line (a CIDR, a range or a host name is far shorter).
pub const MAX_TARGET_LINE: usize = 4096;
/// Largest target or exclusion file, stdin included (about four million lines).
pub const MAX_TARGET_FILE: u64 = 64 << 20;
/// Largest PEM file (CA bundle, client certificate or key).
pub const MAX_PEM_FILE: u64 = 16 << 20;
/// Longest journal line (one endpoint record with its chain and suites is a few KiB).
pub const MAX_JOURNAL_LINE: usize = 16 << 20;
/// Largest `report.json` that `diff` reads.
pub const MAX_REPORT_FILE: u64 = 4 << 30;

/// Why bounded input stopped.
#[derive(Debug)]
pub enum InputError {
    /// A line longer than the cap (no newline within it).
    LineTooLong(usize),
    /// More bytes than the cap.
    TooBig(u64),
    /// The read failed.
    Io(io::Error),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LineTooLong(max) if *max < 1 << 20 => {
                write!(f, "line longer than {max} bytes: not a text file of this kind")
            }
            Self::LineTooLong(max) => {
                write!(f, "line longer than {}: not a text file of this kind", human(*max as u64))
            }
            Self::TooBig(max) => write!(f, "larger than {}: refusing to read on", human(*max)),
            Self::Io(e) => write!(f, "read error: {e}"),
        }
    }
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 30 { format!("{} GiB", bytes >> 30) } else { format!("{} MiB", bytes >> 20) }
}

/// One line read by [`BoundedLines`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInfo {
    /// 1-based line number.
    pub number: usize,
    /// False for a last line without a newline (possibly torn).
    pub terminated: bool,
    /// Bytes consumed so far, this line and its newline included.
    pub end_offset: u64,
}

/// Lines of a reader, each at most `max_line` bytes, at most `max_total` bytes in all.
#[derive(Debug)]
pub struct BoundedLines<R> {
    reader: R,
    max_line: usize,
    max_total: u64,
    consumed: u64,
    number: usize,
}

impl<R: BufRead> BoundedLines<R> {
    /// Wraps `reader`.
    pub fn new(reader: R, max_line: usize, max_total: u64) -> Self {
        Self { reader, max_line, max_total, consumed: 0, number: 0 }
    }

    /// The reader, for what it holds after the last line.
    pub fn into_inner(self) -> R {
        self.reader
    }

    /// Reads the next line into `buf` (cleared first, newline stripped); `None` at the end.
    ///
    /// # Errors
    /// On a line over the cap, input over the cap, or a read error; the line number is then
    /// [`Self::line_number`] (the line being read).
    pub fn next_line(&mut self, buf: &mut Vec<u8>) -> Result<Option<LineInfo>, InputError> {
        buf.clear();
        self.number += 1;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(InputError::Io(e)),
            };
            if chunk.is_empty() {
                if buf.is_empty() {
                    self.number -= 1;
                    return Ok(None);
                }
                return Ok(Some(LineInfo { number: self.number, terminated: false, end_offset: self.consumed }));
            }
            let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let content = if done { take - 1 } else { take };
            if buf.len() + content > self.max_line {
                return Err(InputError::LineTooLong(self.max_line));
            }
            buf.extend_from_slice(chunk.get(..content).unwrap_or_default());
            self.reader.consume(take);
            self.consumed += take as u64;
            if self.consumed > self.max_total {
                return Err(InputError::TooBig(self.max_total));
            }
            if done {
                return Ok(Some(LineInfo { number: self.number, terminated: true, end_offset: self.consumed }));
            }
        }
    }

    /// The number of the line last read (or being read when an error occurred).
    pub fn line_number(&self) -> usize {
        self.number
    }
}

/// Reads a whole file of at most `max` bytes.
///
/// # Errors
/// When it cannot be read or is larger than `max`.
pub fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, InputError> {
    let file = std::fs::File::open(path).map_err(InputError::Io)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes).map_err(InputError::Io)?;
    if bytes.len() as u64 > max {
        return Err(InputError::TooBig(max));
    }
    Ok(bytes)
}

/// A reader of at most `max` bytes that fails (rather than ending quietly) when there is more.
#[derive(Debug)]
pub struct Capped<R> {
    inner: R,
    left: u64,
    max: u64,
}

impl<R: Read> Capped<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, max: u64) -> Self {
        Self { inner, left: max, max }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One byte more than allowed means the input is over the cap.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(InputError::TooBig(self.max).to_string())),
            };
        }
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(buf.get_mut(..want).unwrap_or_default())?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// True for bytes a power loss leaves behind in place of data (NULs) and blank space.
pub fn is_filler(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| *b == 0 || b.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_capped_in_length_and_in_total() {
        let mut l = BoundedLines::new(&b"ab\ncd"[..], 10, 100);
        let mut buf = Vec::new();
        assert_eq!(l.next_line(&mut buf).unwrap().map(|i| (i.number, i.terminated)), Some((1, true)));
        assert_eq!(buf, b"ab");
        assert_eq!(l.next_line(&mut buf).unwrap().map(|i| (i.number, i.terminated)), Some((2, false)));
        assert!(l.next_line(&mut buf).unwrap().is_none());
        let zeros = io::BufReader::new(io::repeat(0));
        let mut l = BoundedLines::new(zeros, 4096, 1 << 20);
        assert!(matches!(l.next_line(&mut buf), Err(InputError::LineTooLong(4096))));
        assert_eq!(l.line_number(), 1);
        let lines = io::BufReader::new(io::repeat(b'\n'));
        let mut l = BoundedLines::new(lines, 4096, 1000);
        let err = loop {
            if let Err(e) = l.next_line(&mut buf) {
                break e;
            }
        };
        assert!(matches!(err, InputError::TooBig(1000)));
    }

    #[test]
    fn capped_reader_fails_past_the_cap() {
        let mut out = Vec::new();
        assert!(Capped::new(io::repeat(1), 100).read_to_end(&mut out).is_err());
        let mut out = Vec::new();
        assert_eq!(Capped::new(&[1u8; 100][..], 100).read_to_end(&mut out).unwrap(), 100);
    }
}
