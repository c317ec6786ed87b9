//! Random numbers for what needs them to differ, not to be secret: the
//! `x-ms-client-request-id` of every request and the jitter of retry delays.
//!
//! A generator per thread (wyrand: one addition and one multiplication per
//! number), seeded once from the standard library's random hash keys, which
//! come from the operating system: no system call per request.

use std::{
    cell::Cell,
    hash::{BuildHasher, Hasher},
};

use http::HeaderValue;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

/// A seed that differs between threads and processes: the thread's random
/// hash keys over the time and the thread's id.
fn seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    std::hash::Hash::hash(&std::thread::current().id(), &mut hasher);
    hasher.finish()
}

/// The next 64 random bits of this thread's generator.
pub(crate) fn next_u64() -> u64 {
    STATE.with(|state| {
        let x = state.get().wrapping_add(0xa076_1d64_78bd_642f);
        state.set(x);
        let product = u128::from(x) * u128::from(x ^ 0xe703_7ed1_a0b4_28db);
        (product >> 64) as u64 ^ product as u64
    })
}

/// A new request id: a version-4 UUID, hyphenated and in lower case, as
/// the service and the other Azure SDKs write them.
pub(crate) fn request_id() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // The place of each hex digit in `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    const AT: [usize; 32] = {
        let mut at = [0; 32];
        let mut digit = 0;
        while digit < 32 {
            at[digit] = digit
                + (digit >= 8) as usize
                + (digit >= 12) as usize
                + (digit >= 16) as usize
                + (digit >= 20) as usize;
            digit += 1;
        }
        at
    };
    // The version (4) in the 13th digit, the variant (binary 10) in the top
    // bits of the 17th.
    let high = next_u64() & !(0xf << 12) | 0x4 << 12;
    let low = next_u64() & !(0x3 << 62) | 0x2 << 62;
    let mut text = [b'-'; 36];
    for (half, bits) in [high, low].into_iter().enumerate() {
        for digit in 0..16 {
            text[AT[half * 16 + digit]] = HEX[(bits >> (60 - 4 * digit)) as usize & 0xf];
        }
    }
    let mut value =
        HeaderValue::from_bytes(&text).unwrap_or_else(|_| HeaderValue::from_static("0"));
    // Marked so that HTTP/2 sends it as a literal, never indexed: an id used
    // once would only churn the connection's header table (and make every
    // later id search a longer chain).
    value.set_sensitive(true);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_v4_uuids_and_differ() {
        let ids: Vec<String> = (0..1000)
            .map(|_| request_id().to_str().unwrap().to_owned())
            .collect();
        for id in &ids {
            let groups: Vec<&str> = id.split('-').collect();
            let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
            assert_eq!(lengths, [8, 4, 4, 4, 12], "{id}");
            assert!(
                groups
                    .concat()
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{id}"
            );
            assert!(groups[2].starts_with('4'), "version 4: {id}");
            assert!(groups[3].starts_with(['8', '9', 'a', 'b']), "variant: {id}");
        }
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        assert!(request_id().is_sensitive());
    }

    #[test]
    fn threads_draw_different_numbers() {
        let here: Vec<u64> = (0..4).map(|_| next_u64()).collect();
        let there = std::thread::spawn(|| (0..4).map(|_| next_u64()).collect::<Vec<u64>>())
            .join()
            .unwrap();
        assert_ne!(here, there);
    }
}
