//! Making remote-controlled text safe: used by probes when they capture strings, and by every sink.
//!
//! A Redis reply or a certificate subject is written by whoever runs the server. Before it reaches a
//! record it is escaped so that it holds no control characters (no terminal escape sequences, no line
//! breaks that would forge report lines, no bidi overrides); CSV cells are additionally kept from
//! starting a spreadsheet formula.

use std::fmt::Write;

/// Escapes raw bytes: printable ASCII is kept, everything else becomes `\xNN`; at most `max` characters.
pub fn escape_bytes(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    for &b in bytes {
        if out.len() >= max {
            out.push_str("...");
            break;
        }
        match b {
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

/// Escapes a Unicode string: control characters (C0, C1, DEL), bidi overrides and other invisible format
/// characters become `\u{..}`; at most `max` characters are kept.
pub fn sanitize(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n >= max {
            out.push_str("...");
            break;
        }
        if is_unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}')
}

/// Makes a CSV cell safe to open in a spreadsheet: a cell that would start a formula (`=`, `+`, `-`, `@`,
/// tab, CR) gets a leading `'` (OWASP "CSV injection" advice). Input is expected to be sanitised already.
pub fn csv_cell(s: &str) -> String {
    csv_safe_str(s).into_owned()
}

/// [`csv_cell`] on an owned cell: returned as is (no copy) unless it needs the quote.
pub fn csv_safe(s: String) -> String {
    match csv_safe_str(&s) {
        std::borrow::Cow::Borrowed(_) => s,
        std::borrow::Cow::Owned(quoted) => quoted,
    }
}

/// [`csv_cell`] without a copy unless the cell needs the quote (the one place the rule lives).
pub fn csv_safe_str(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        // A plain number (e.g. negative days left) is data, not a formula.
        Some('+' | '-') if s.parse::<f64>().is_ok_and(f64::is_finite) => std::borrow::Cow::Borrowed(s),
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => std::borrow::Cow::Owned(format!("'{s}")),
        _ => std::borrow::Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_bytes_and_caps_length() {
        assert_eq!(escape_bytes(b"+PONG", 200), "+PONG");
        assert_eq!(escape_bytes(b"\x1b[31mred\r\n", 200), "\\x1b[31mred\\x0d\\x0a");
        assert_eq!(escape_bytes(b"a\\b", 200), "a\\\\b");
        assert_eq!(escape_bytes(&[b'x'; 300], 10), "xxxxxxxxxx...");
        assert_eq!(escape_bytes("é".as_bytes(), 10), "\\xc3\\xa9");
    }

    #[test]
    fn sanitizes_unicode_controls() {
        assert_eq!(sanitize("CN=ok", 100), "CN=ok");
        assert_eq!(sanitize("CN=\u{1b}]0;pwn\u{7}", 100), "CN=\\u{1b}]0;pwn\\u{7}");
        assert_eq!(sanitize("a\u{202e}b\nc", 100), "a\\u{202e}b\\u{a}c");
        assert_eq!(sanitize("Zürich", 100), "Zürich");
    }

    #[test]
    fn csv_cells_never_start_a_formula() {
        for bad in ["=1+1", "+PONG", "-NOAUTH x", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(bad).starts_with('\''), "{bad}");
        }
        assert_eq!(csv_cell("PONG"), "PONG");
        assert_eq!(csv_cell("-6"), "-6");
        assert_eq!(csv_cell("-1+1"), "'-1+1");
        assert_eq!(csv_cell("-inf"), "'-inf");
        assert_eq!(csv_cell(""), "");
    }
}
