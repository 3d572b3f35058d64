//! Output of a command: raw bytes, and the last-N-lines view the API returns.

/// Bytes kept per stream. Past twice this size the oldest bytes are dropped down to it, so
/// memory stays bounded while the tail the API returns stays exact.
pub const RETAINED_BYTES: usize = 8 * 1024 * 1024;

/// One output stream (stdout or stderr) of a command, kept as the bytes it wrote.
///
/// Text is decoded only when a view is built, from one contiguous slice, so a multi-byte
/// UTF-8 character split across two reads is decoded whole.
#[derive(Debug, Default)]
pub struct OutputBuffer {
    bytes: Vec<u8>,
    discarded: u64,
}

/// The last lines of a stream and whether earlier output was left out.
#[derive(Debug, PartialEq, Eq)]
pub struct Tail {
    /// The lines, with their newlines; invalid UTF-8 is replaced by U+FFFD.
    pub text: String,
    /// Whether the stream contains output before `text`.
    pub truncated: bool,
}

impl OutputBuffer {
    /// Appends bytes read from the stream.
    pub fn append(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > 2 * RETAINED_BYTES {
            let excess = self.bytes.len() - RETAINED_BYTES;
            self.bytes.drain(..excess);
            self.discarded += excess as u64;
        }
    }

    /// Returns the last `last_n` lines. While the command runs (`finished` false), an
    /// incomplete UTF-8 sequence at the end is held back until the rest of it arrives.
    pub fn tail(&self, last_n: usize, finished: bool) -> Tail {
        let data = if finished {
            &self.bytes[..]
        } else {
            complete_utf8_prefix(&self.bytes)
        };
        let start = tail_start(data, last_n);
        Tail {
            text: String::from_utf8_lossy(&data[start..]).into_owned(),
            truncated: start > 0 || self.discarded > 0,
        }
    }

    /// Returns all retained output as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Returns the index where the last `last_n` lines of `data` begin. A final newline ends
/// the last line rather than starting an empty one.
fn tail_start(data: &[u8], last_n: usize) -> usize {
    if last_n == 0 {
        return data.len();
    }
    let mut cut = match data.last() {
        Some(b'\n') => data.len() - 1,
        _ => data.len(),
    };
    for _ in 0..last_n {
        match data[..cut].iter().rposition(|&byte| byte == b'\n') {
            Some(newline) => cut = newline,
            None => return 0,
        }
    }
    cut + 1
}

/// Returns `bytes` without a trailing UTF-8 sequence that is still missing bytes.
fn complete_utf8_prefix(bytes: &[u8]) -> &[u8] {
    let earliest = bytes.len().saturating_sub(3);
    for index in (earliest..bytes.len()).rev() {
        let byte = bytes[index];
        if byte & 0xC0 == 0x80 {
            continue;
        }
        let needed = match byte {
            0xF0.. => 4,
            0xE0.. => 3,
            0xC0.. => 2,
            _ => 1,
        };
        return if bytes.len() - index < needed {
            &bytes[..index]
        } else {
            bytes
        };
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(text: &[u8]) -> OutputBuffer {
        let mut buffer = OutputBuffer::default();
        buffer.append(text);
        buffer
    }

    #[test]
    fn tail_returns_last_lines_with_newlines() {
        let tail = buffer(b"a\nb\nc\n").tail(2, true);
        assert_eq!(tail.text, "b\nc\n");
        assert!(tail.truncated);
    }

    #[test]
    fn tail_of_short_output_is_not_truncated() {
        let tail = buffer(b"a\nb\n").tail(5, true);
        assert_eq!(tail.text, "a\nb\n");
        assert!(!tail.truncated);
    }

    #[test]
    fn tail_counts_unterminated_last_line() {
        let tail = buffer(b"a\nb\nc").tail(1, true);
        assert_eq!(tail.text, "c");
        assert!(tail.truncated);
    }

    #[test]
    fn tail_of_zero_lines_is_empty() {
        let tail = buffer(b"a\n").tail(0, true);
        assert_eq!(tail.text, "");
        assert!(tail.truncated);
    }

    #[test]
    fn split_character_is_decoded_whole() {
        let mut output = OutputBuffer::default();
        output.append(&[b'x', 0xC3]);
        assert_eq!(output.tail(10, false).text, "x");

        output.append(&[0xA9, b'\n']);
        assert_eq!(output.tail(10, false).text, "x\u{e9}\n");
    }

    #[test]
    fn incomplete_character_at_end_is_replaced_once_finished() {
        let output = buffer(&[b'x', 0xE2, 0x82]);
        assert_eq!(output.tail(10, true).text, "x\u{fffd}");
    }

    #[test]
    fn oldest_bytes_are_dropped_past_the_limit() {
        let mut output = OutputBuffer::default();
        output.append(&vec![b'a'; 2 * RETAINED_BYTES]);
        output.append(b"\nlast\n");
        assert_eq!(output.bytes.len(), RETAINED_BYTES);

        let tail = output.tail(1, true);
        assert_eq!(tail.text, "last\n");
        assert!(tail.truncated);
    }
}
