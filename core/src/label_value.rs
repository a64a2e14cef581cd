//! Label values as family lookups take them, and how a label set is hashed.
//!
//! A label set's hash combines one hash per value, so a value hashed once (a [`LabelValue`],
//! made where the values are known up front: an enum's variants, the routes of a router)
//! costs nothing to hash again, and plain strings hash in one pass each. Both give the same
//! hash for the same text, so interned and plain values find the same series.

use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// The process' seed for value hashes: random, so label values chosen by an attacker cannot
/// be made to collide, and the same for every family, so one [`LabelValue`] serves them all.
fn seed() -> &'static foldhash::fast::SeedableRandomState {
    static SEED: OnceLock<foldhash::fast::SeedableRandomState> = OnceLock::new();
    SEED.get_or_init(foldhash::fast::SeedableRandomState::random)
}

/// The hash of one label value.
#[inline]
pub(crate) fn hash_str(v: &str) -> u64 {
    let mut h = seed().build_hasher();
    h.write(v.as_bytes());
    h.finish()
}

/// Folds the next value's hash into a label set's running hash (order matters: `("a","b")`
/// and `("b","a")` differ).
#[inline(always)]
pub(crate) fn combine(acc: u64, value_hash: u64) -> u64 {
    let m = u128::from(acc ^ value_hash) * 0x9E37_79B9_7F4A_7C15u128;
    (m as u64) ^ ((m >> 64) as u64)
}

/// A label value with its hash computed once. Lookups given these skip hashing the text,
/// which is most of a hit's cost for short label sets:
///
/// ```
/// use footmetrics::{LabelValue, Opts, Registry};
/// let requests = Registry::new()
///     .counter_vec(&Opts::new("requests_total", "Requests.").labels(&["method", "code"]))
///     .unwrap();
/// let (get, ok) = (LabelValue::new("GET"), LabelValue::new("200"));
/// requests.get(&[&get, &ok]).unwrap().inc();
/// assert_eq!(requests.get(&["GET", "200"]).unwrap().get(), 1.0); // the same series
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct LabelValue {
    hash: u64,
    text: Box<str>,
}

impl LabelValue {
    /// Hashes `text` once.
    pub fn new(text: impl Into<Box<str>>) -> Self {
        let text = text.into();
        LabelValue {
            hash: hash_str(&text),
            text,
        }
    }

    /// The value's text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Debug for LabelValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.text.fmt(f)
    }
}

impl std::fmt::Display for LabelValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// What family lookups accept as one label value: any string type, or a [`LabelValue`]
/// (whose hash is already known).
pub trait AsLabelValue {
    /// The value's text.
    fn label_str(&self) -> &str;
    /// The value's hash (computed here unless it was kept).
    #[inline]
    fn label_hash(&self) -> u64 {
        hash_str(self.label_str())
    }
}

impl<T: AsRef<str> + ?Sized> AsLabelValue for T {
    #[inline(always)]
    fn label_str(&self) -> &str {
        self.as_ref()
    }
}

impl AsLabelValue for LabelValue {
    #[inline(always)]
    fn label_str(&self) -> &str {
        &self.text
    }
    #[inline(always)]
    fn label_hash(&self) -> u64 {
        self.hash
    }
}

impl AsLabelValue for &LabelValue {
    #[inline(always)]
    fn label_str(&self) -> &str {
        (**self).label_str()
    }
    #[inline(always)]
    fn label_hash(&self) -> u64 {
        (**self).label_hash()
    }
}

/// The hash of a label set given as values.
#[inline]
pub(crate) fn hash_values<S: AsLabelValue>(values: &[S]) -> u64 {
    values.iter().fold(0, |acc, v| combine(acc, v.label_hash()))
}

/// Appends label values as one byte string: each value's length (LEB128), then its bytes.
/// Both kinds of family store a series' values this way, in one allocation.
pub(crate) fn push_encoded_values<S: AsRef<str>>(out: &mut Vec<u8>, values: &[S]) {
    for v in values {
        let v = v.as_ref().as_bytes();
        let mut n = v.len();
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
        out.extend_from_slice(v);
    }
}

/// The values [`push_encoded_values`] wrote, in order.
pub(crate) fn encoded_values(mut key: &[u8]) -> impl Iterator<Item = &str> {
    std::iter::from_fn(move || {
        if key.is_empty() {
            return None;
        }
        let (mut n, mut shift, mut i) = (0usize, 0, 0);
        while let Some(&b) = key.get(i) {
            n |= ((b & 0x7f) as usize) << shift;
            shift += 7;
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        let end = (i + n).min(key.len());
        let v = std::str::from_utf8(&key[i..end]).unwrap_or_default();
        key = &key[end..];
        Some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_and_plain_values_hash_alike_and_order_matters() {
        let interned = [LabelValue::new("GET"), LabelValue::new("/a")];
        assert_eq!(hash_values(&interned), hash_values(&["GET", "/a"]));
        assert_ne!(hash_values(&["GET", "/a"]), hash_values(&["/a", "GET"]));
        assert_ne!(hash_values(&["ab", "c"]), hash_values(&["a", "bc"]));
    }
}
