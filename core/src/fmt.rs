//! Number formatting and escaping for the text formats.
//!
//! Floats are written as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes them, which is what
//! `client_golang` exposes (`1`, `0.25`, `1e+06`, `1.5e-07`, `+Inf`, `NaN`), so series keep
//! the same `le` label values whichever client produced them.

/// Appends `v` formatted as Go's `'g'` with shortest precision, with the exposition's
/// spellings of the special values.
pub fn write_float(out: &mut Vec<u8>, v: f64) {
    if write_special(out, v) {
        return;
    }
    // Integers below 1e6 print as plain digits in Go's shortest %g (exponent < 6), and they are
    // most of what counters and bucket counts hold: skip the shortest-digits search for them.
    if write_small_whole(out, v) {
        return;
    }
    let mut ryu_buf = ryu::Buffer::new();
    let s = ryu_buf.format_finite(v);
    let (neg, digits, dp) = decompose(s);
    write_go_g(out, neg, &digits[..], dp);
}

/// Splits a shortest round-trip decimal (as ryu or `{:e}` print it) into sign, significant
/// digits without leading or trailing zeros, and the decimal point position `dp` such that
/// the value is `0.d1d2d3… × 10^dp`.
fn decompose(s: &str) -> (bool, DigitBuf, i32) {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().unwrap_or(0)),
        None => (s, 0),
    };
    let mut digits = DigitBuf::default();
    let mut point: Option<i32> = None;
    let mut count = 0i32;
    for b in mantissa.bytes() {
        if b == b'.' {
            point = Some(count);
        } else {
            digits.push(b);
            count += 1;
        }
    }
    let mut dp = point.unwrap_or(count) + exp;
    // Strip leading zeros: each moves the point left.
    let lead = digits.as_slice().iter().take_while(|&&d| d == b'0').count();
    digits.drop_front(lead);
    dp -= lead as i32;
    while digits.len > 0 && digits.buf[digits.len - 1] == b'0' {
        digits.len -= 1;
    }
    if digits.len == 0 {
        // Zero: Go prints "0".
        digits.push(b'0');
        dp = 1;
    }
    (neg, digits, dp)
}

/// Go's `%g` layout for shortest precision: exponent form when the decimal exponent is below
/// -4 or at least 6 (the "eprec = 6" rule of strconv for shortest output), else fixed.
fn write_go_g(out: &mut Vec<u8>, neg: bool, d: &[u8], dp: i32) {
    if neg {
        out.push(b'-');
    }
    let nd = d.len() as i32;
    let exp = dp - 1;
    if !(-4..6).contains(&exp) {
        write_mantissa_exponent(out, d, exp);
    } else {
        if dp > 0 {
            let m = dp.min(nd) as usize;
            out.extend_from_slice(&d[..m]);
            for _ in m as i32..dp {
                out.push(b'0');
            }
        } else {
            out.push(b'0');
        }
        let frac = nd - dp;
        if frac > 0 {
            out.push(b'.');
            for i in 0..frac {
                let j = dp + i;
                out.push(if j >= 0 && j < nd {
                    d[j as usize]
                } else {
                    b'0'
                });
            }
        }
    }
}

/// `NaN`, `+Inf` or `-Inf` as the exposition formats spell them; false (nothing written) for a
/// finite `v`.
fn write_special(out: &mut Vec<u8>, v: f64) -> bool {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else {
        return false;
    }
    true
}

/// A whole number under a million in magnitude, written with itoa (`-0.0` as `0`, as Go
/// writes it); false (nothing written) otherwise.
fn write_small_whole(out: &mut Vec<u8>, v: f64) -> bool {
    if !(v.abs() < 1e6) || v as i64 as f64 != v {
        return false;
    }
    if v < 0.0 {
        out.push(b'-');
    }
    write_below_million(out, v.abs() as u32);
    true
}

/// Appends `v` (below 1,000,000) in decimal, digits written straight into `out`'s spare
/// capacity: no intermediate buffer whose narrow stores a wide copy would then stall on.
#[inline]
pub(crate) fn write_below_million(out: &mut Vec<u8>, v: u32) {
    debug_assert!(v < 1_000_000);
    let digits = match v {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        10_000..=99_999 => 5,
        _ => 6,
    };
    out.reserve(digits);
    let len = out.len();
    let spare = out.spare_capacity_mut();
    let mut n = v;
    for i in (0..digits).rev() {
        spare[i].write(b'0' + (n % 10) as u8);
        n /= 10;
    }
    // SAFETY: the loop initialised `digits` bytes after `len`, within the reserved capacity.
    unsafe { out.set_len(len + digits) };
}

/// Appends `v` as Python's `repr(float)` writes it (`2.0`, `-0.0`, `0.0001`, `1e-05`,
/// `1e+16`, `inf`, `nan`): the shortest round-trip digits, fixed notation while the decimal
/// point falls within 16 digits left of them or 4 right, an exponent of at least two digits
/// otherwise.
pub(crate) fn write_python_float(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    let mut ryu_buf = ryu::Buffer::new();
    let (neg, digits, dp) = decompose(ryu_buf.format_finite(v));
    write_python_digits(out, neg, &digits[..], dp);
}

/// `repr`'s layout of a finite float given as its shortest digits `d` and decimal point `dp`.
fn write_python_digits(out: &mut Vec<u8>, neg: bool, d: &[u8], dp: i32) {
    if neg {
        out.push(b'-');
    }
    if !(-3..=16).contains(&dp) {
        write_mantissa_exponent(out, d, dp - 1);
    } else if dp <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', dp.unsigned_abs() as usize));
        out.extend_from_slice(d);
    } else {
        let dp = dp as usize;
        if dp >= d.len() {
            out.extend_from_slice(d);
            out.extend(std::iter::repeat_n(b'0', dp - d.len()));
            out.extend_from_slice(b".0");
        } else {
            out.extend_from_slice(&d[..dp]);
            out.push(b'.');
            out.extend_from_slice(&d[dp..]);
        }
    }
}

/// `d[0].d[1..]e±XX` (two exponent digits at least).
fn write_mantissa_exponent(out: &mut Vec<u8>, d: &[u8], exp: i32) {
    out.push(d[0]);
    if d.len() > 1 {
        out.push(b'.');
        out.extend_from_slice(&d[1..]);
    }
    out.push(b'e');
    out.push(if exp < 0 { b'-' } else { b'+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push(b'0');
    }
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(e).as_bytes());
}

/// Appends `v` as `prometheus_client`'s `floatToGoString` spells sample values and `le` /
/// `quantile` labels: `+Inf`, `-Inf`, `NaN`, Python's `repr` otherwise, except that a positive
/// value with 7 to 16 integer digits takes Go's exponent form (`1e+06`, `1.5e+07`).
pub(crate) fn write_go_string_python(out: &mut Vec<u8>, v: f64) {
    if write_special(out, v) {
        return;
    }
    // Whole numbers under a million (counts, most counter values) are `repr`'s `123.0` in
    // both spellings: written with itoa, skipping the shortest-digits search. `-0.0` keeps
    // its sign in Python, so it takes the general path.
    let negative_zero = v == 0.0 && v.is_sign_negative();
    if !negative_zero && write_small_whole(out, v) {
        out.extend_from_slice(b".0");
        return;
    }
    let mut ryu_buf = ryu::Buffer::new();
    let (neg, digits, dp) = decompose(ryu_buf.format_finite(v));
    if !neg && v != 0.0 && (7..=16).contains(&dp) {
        write_mantissa_exponent(out, &digits[..], dp - 1);
        return;
    }
    write_python_digits(out, neg, &digits[..], dp);
}

/// [`write_go_string_python`] into a fresh `String`.
pub(crate) fn go_string_python(v: f64) -> String {
    let mut out = Vec::with_capacity(24);
    write_go_string_python(&mut out, v);
    String::from_utf8(out).expect("ASCII")
}

/// Fixed-capacity digit buffer: an f64's shortest form has at most 17 significant digits,
/// ryu may print a few zeros around them.
#[derive(Default)]
struct DigitBuf {
    buf: [u8; 32],
    len: usize,
}

impl DigitBuf {
    fn push(&mut self, b: u8) {
        if self.len < self.buf.len() {
            self.buf[self.len] = b;
            self.len += 1;
        }
    }
    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
    fn drop_front(&mut self, n: usize) {
        self.buf.copy_within(n..self.len, 0);
        self.len -= n;
    }
}

impl std::ops::Index<std::ops::RangeFull> for DigitBuf {
    type Output = [u8];
    fn index(&self, _: std::ops::RangeFull) -> &[u8] {
        self.as_slice()
    }
}

/// Formats into a fresh `String` (for labels rendered once, like `le`).
pub fn float_string(v: f64) -> String {
    let mut out = Vec::with_capacity(24);
    write_float(&mut out, v);
    // Only ASCII is ever written.
    String::from_utf8(out).expect("ASCII")
}

/// OpenMetrics spelling of an `le`/`quantile` label value and of a float sample: as Go's
/// OpenMetrics encoder writes it, a float with no fraction or exponent gets `.0`
/// (`le="1.0"`), so the strict parsers read it as the canonical float.
pub fn float_string_openmetrics(v: f64) -> String {
    let mut s = float_string(v);
    if v.is_finite() && !s.contains(['.', 'e']) {
        s.push_str(".0");
    }
    s
}

/// Escapes a label value into `out`: backslash, double quote and line feed.
pub(crate) fn escape_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Escapes a HELP text. The classic format escapes backslash and line feed; OpenMetrics
/// escapes double quotes as well.
pub fn escape_help(out: &mut Vec<u8>, help: &str, openmetrics: bool) {
    let mut start = 0;
    let bytes = help.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let rep: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if openmetrics => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(rep);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Reverses [`escape_label_value`]; used by tests and by parsers of our own output.
#[cfg(test)]
pub(crate) fn unescape_label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Appends `bytes`, copying short slices (most names and label blocks) without a call into
/// the C library's `memcpy`, whose call overhead dominates copies this short.
#[inline(always)]
pub(crate) fn push_small(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.len() > 32 {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(bytes.len());
    let len = out.len();
    // SAFETY: `reserve` made room for `bytes.len()` more bytes after `len`; the copies below
    // write exactly bytes `len..len + bytes.len()` (overlapping halves for 4..=32 bytes), all
    // initialised from `bytes`, before the length is set.
    unsafe {
        let dst = out.as_mut_ptr().add(len);
        let src = bytes.as_ptr();
        let n = bytes.len();
        if n >= 16 {
            let a = std::ptr::read_unaligned(src as *const u128);
            let b = std::ptr::read_unaligned(src.add(n - 16) as *const u128);
            std::ptr::write_unaligned(dst as *mut u128, a);
            std::ptr::write_unaligned(dst.add(n - 16) as *mut u128, b);
        } else if n >= 8 {
            let a = std::ptr::read_unaligned(src as *const u64);
            let b = std::ptr::read_unaligned(src.add(n - 8) as *const u64);
            std::ptr::write_unaligned(dst as *mut u64, a);
            std::ptr::write_unaligned(dst.add(n - 8) as *mut u64, b);
        } else if n >= 4 {
            let a = std::ptr::read_unaligned(src as *const u32);
            let b = std::ptr::read_unaligned(src.add(n - 4) as *const u32);
            std::ptr::write_unaligned(dst as *mut u32, a);
            std::ptr::write_unaligned(dst.add(n - 4) as *mut u32, b);
        } else {
            for i in 0..n {
                *dst.add(i) = *src.add(i);
            }
        }
        out.set_len(len + n);
    }
}

/// Appends `k="v",…` with values escaped.
pub fn render_pairs<'a>(out: &mut String, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        escape_label_value(out, v);
        out.push('"');
    }
}

/// `a == b` for slices of equal length, short ones compared inline (label values are
/// mostly a few bytes, where the C library's `memcmp` call costs more than the comparison).
#[inline(always)]
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n > 16 {
        return a == b;
    }
    // SAFETY: every read below is within the first `n` bytes of `a` and `b` (overlapping
    // halves for 4..=16 bytes), unaligned loads of plain integers.
    unsafe {
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        if n >= 8 {
            let x = std::ptr::read_unaligned(pa as *const u64)
                ^ std::ptr::read_unaligned(pb as *const u64);
            let y = std::ptr::read_unaligned(pa.add(n - 8) as *const u64)
                ^ std::ptr::read_unaligned(pb.add(n - 8) as *const u64);
            (x | y) == 0
        } else if n >= 4 {
            let x = std::ptr::read_unaligned(pa as *const u32)
                ^ std::ptr::read_unaligned(pb as *const u32);
            let y = std::ptr::read_unaligned(pa.add(n - 4) as *const u32)
                ^ std::ptr::read_unaligned(pb.add(n - 4) as *const u32);
            (x | y) == 0
        } else {
            (0..n).all(|i| *pa.add(i) == *pb.add(i))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn go(v: f64) -> String {
        float_string(v)
    }

    /// A slow, obviously-correct reference: Rust's `{:e}` gives the shortest round-trip
    /// digits; lay them out by Go's rule.
    fn reference(v: f64) -> String {
        if v.is_nan() {
            return "NaN".into();
        }
        if v.is_infinite() {
            return if v > 0.0 {
                "+Inf".into()
            } else {
                "-Inf".into()
            };
        }
        if v == 0.0 {
            return "0".into();
        }
        let s = format!("{v:e}");
        let (neg, digits, dp) = decompose(&s);
        let mut out = Vec::new();
        write_go_g(&mut out, neg, &digits[..], dp);
        String::from_utf8(out).unwrap()
    }

    /// True when `ours` and `reference` are equally short, both read back as `v`, differ by
    /// one in their last digit, and `ours` ends in the even one.
    fn is_even_tie_of(ours: &str, reference: &str, v: f64) -> bool {
        let digits = |s: &str| -> Vec<u8> {
            let mantissa = s.split('e').next().unwrap_or("");
            mantissa.bytes().filter(u8::is_ascii_digit).collect()
        };
        let (a, b) = (digits(ours), digits(reference));
        let reads_back = |s: &str| s.parse::<f64>().map(|p| p == v).unwrap_or(false);
        a.len() == b.len()
            && a[..a.len() - 1] == b[..b.len() - 1]
            && a[a.len() - 1].abs_diff(b[b.len() - 1]) == 1
            && a[a.len() - 1] % 2 == 0
            && reads_back(ours)
            && reads_back(reference)
    }

    #[test]
    fn go_spellings() {
        // Values checked against Go's strconv.FormatFloat(v, 'g', -1, 64).
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (0.005, "0.005"),
            (0.25, "0.25"),
            (2.5, "2.5"),
            (10.0, "10"),
            (600.0, "600"),
            (999999.0, "999999"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (123456.7, "123456.7"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e21, "1e+21"),
            (1.7e9, "1.7e+09"),
            (1732486000.123, "1.732486000123e+09"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (0.1 + 0.2, "0.30000000000000004"),
            // -1250694860611934.25, an exact tie between two 17-digit candidates: Go rounds
            // half to even.
            (
                f64::from_bits(0xc311_c600_5b8e_8579),
                "-1.2506948606119342e+15",
            ),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for (v, want) in cases {
            assert_eq!(go(*v), *want, "formatting {v:?}");
        }
    }

    #[test]
    fn python_spellings() {
        // Values checked against CPython's repr() and prometheus_client's floatToGoString.
        let cases: &[(f64, &str, &str)] = &[
            (0.0, "0.0", "0.0"),
            (-0.0, "-0.0", "-0.0"),
            (2.0, "2.0", "2.0"),
            (17.0, "17.0", "17.0"),
            (0.05, "0.05", "0.05"),
            (123.456, "123.456", "123.456"),
            (0.0001, "0.0001", "0.0001"),
            (0.00001, "1e-05", "1e-05"),
            (1.5e-7, "1.5e-07", "1.5e-07"),
            (999999.0, "999999.0", "999999.0"),
            (1e6, "1000000.0", "1e+06"),
            (1234567.0, "1234567.0", "1.234567e+06"),
            (12345678.5, "12345678.5", "1.23456785e+07"),
            (-1e6, "-1000000.0", "-1000000.0"),
            (1e15, "1000000000000000.0", "1e+15"),
            (1e16, "1e+16", "1e+16"),
            (1.5e300, "1.5e+300", "1.5e+300"),
            (-2.5e-300, "-2.5e-300", "-2.5e-300"),
            (0.1 + 0.2, "0.30000000000000004", "0.30000000000000004"),
            (f64::INFINITY, "inf", "+Inf"),
            (f64::NEG_INFINITY, "-inf", "-Inf"),
            (f64::NAN, "nan", "NaN"),
        ];
        for (v, repr, go) in cases {
            let mut out = Vec::new();
            write_python_float(&mut out, *v);
            assert_eq!(String::from_utf8(out).unwrap(), *repr, "repr of {v:?}");
            assert_eq!(go_string_python(*v), *go, "floatToGoString of {v:?}");
        }
    }

    #[test]
    fn openmetrics_spellings() {
        assert_eq!(float_string_openmetrics(1.0), "1.0");
        assert_eq!(float_string_openmetrics(0.25), "0.25");
        assert_eq!(float_string_openmetrics(1e6), "1e+06");
        assert_eq!(float_string_openmetrics(f64::INFINITY), "+Inf");
    }

    #[test]
    fn help_escaping() {
        let mut out = Vec::new();
        escape_help(&mut out, "a\\b\n\"c\"", false);
        assert_eq!(out, b"a\\\\b\\n\"c\"");
        out.clear();
        escape_help(&mut out, "a\\b\n\"c\"", true);
        assert_eq!(out, b"a\\\\b\\n\\\"c\\\"");
    }

    proptest! {
        #[test]
        fn matches_reference(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            let (ours, theirs) = (go(v), reference(v));
            if ours != theirs {
                // Rust's `{:e}` breaks an exact tie between two shortest candidates upwards; Go
                // (and ryu) round half to even. Anything else is a real difference.
                prop_assert!(is_even_tie_of(&ours, &theirs, v), "{} vs reference {}", ours, theirs);
            }
        }

        #[test]
        fn matches_reference_near_integers(i in -10_000_000i64..10_000_000, frac in prop::sample::select(vec![0.0, 0.5, 0.25, 0.1])) {
            let v = i as f64 + frac;
            prop_assert_eq!(go(v), reference(v));
        }

        #[test]
        fn round_trips(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            let s = go(v);
            let parsed: f64 = match s.as_str() {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                other => other.parse().unwrap(),
            };
            if v.is_nan() {
                prop_assert!(parsed.is_nan());
            } else {
                prop_assert_eq!(parsed, v);
            }
        }

        #[test]
        fn label_escaping_round_trips(s in "\\PC*|[\\\\\"\n a-z]*") {
            let mut esc = String::new();
            escape_label_value(&mut esc, &s);
            prop_assert!(!esc.contains('\n'));
            // Every quote in the escaped form is preceded by an odd run of backslashes.
            let b = esc.as_bytes();
            for (i, &c) in b.iter().enumerate() {
                if c == b'"' {
                    let run = b[..i].iter().rev().take_while(|&&x| x == b'\\').count();
                    prop_assert!(run % 2 == 1);
                }
            }
            prop_assert_eq!(unescape_label_value(&esc), s);
        }
    }
}

#[cfg(test)]
mod push_small_tests {
    #[test]
    fn every_length_is_copied_exactly() {
        let src: Vec<u8> = (0..64u8).map(|i| b'a' + i % 26).collect();
        for n in 0..=40 {
            let mut out = b"x".to_vec();
            super::push_small(&mut out, &src[..n]);
            assert_eq!(&out[1..], &src[..n], "{n}");
            assert_eq!(out[0], b'x');
        }
    }
}

#[cfg(test)]
mod below_million_tests {
    #[test]
    fn matches_the_standard_formatting() {
        for v in (0..1000).chain([9999, 10_000, 99_999, 123_456, 999_999]) {
            let mut out = b"x".to_vec();
            super::write_below_million(&mut out, v);
            assert_eq!(std::str::from_utf8(&out[1..]).unwrap(), v.to_string());
        }
        let mut out = Vec::new();
        super::write_float(&mut out, -0.0);
        super::write_float(&mut out, -42.0);
        assert_eq!(out, b"0-42");
    }
}

#[cfg(test)]
mod bytes_eq_tests {
    #[test]
    fn agrees_with_slice_equality_at_every_length_and_difference() {
        let a: Vec<u8> = (0..40u8).collect();
        for n in 0..=40 {
            assert!(super::bytes_eq(&a[..n], &a[..n]));
            for d in 0..n {
                let mut b = a[..n].to_vec();
                b[d] ^= 1;
                assert!(!super::bytes_eq(&a[..n], &b), "{n} {d}");
            }
            if n > 0 {
                assert!(!super::bytes_eq(&a[..n], &a[..n - 1]));
            }
        }
    }
}
