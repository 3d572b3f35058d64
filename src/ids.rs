//! UUID strings for idempotency keys (version 4) and command ids (version 7, RFC 9562).

/// Formats 16 random bytes as a version 4 UUID.
pub fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    format_uuid(&bytes)
}

/// Builds a version 7 UUID from a Unix time in milliseconds and 10 random bytes. Ids made later
/// sort after ids made earlier, to the millisecond.
pub fn uuid_v7(unix_ms: u64, random: [u8; 10]) -> String {
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&unix_ms.to_be_bytes()[2..]);
    bytes[6..].copy_from_slice(&random);
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    format_uuid(&bytes)
}

fn format_uuid(bytes: &[u8; 16]) -> String {
    let mut text = String::with_capacity(36);
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_sets_version_and_variant() {
        let id = uuid_v4([0xff; 16]);

        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }

    #[test]
    fn v7_starts_with_timestamp() {
        let id = uuid_v7(0x0189_1234_5678, [0; 10]);

        assert_eq!(id, "01891234-5678-7000-8000-000000000000");
    }

    #[test]
    fn v7_sorts_by_time() {
        let earlier = uuid_v7(1_700_000_000_000, [0xff; 10]);
        let later = uuid_v7(1_700_000_000_001, [0x00; 10]);

        assert!(earlier < later, "{earlier} should sort before {later}");
    }
}
