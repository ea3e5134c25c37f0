//! A consumed record's headers read straight from the bytes the broker sent (Kafka's record
//! format v2: a header count, then each header's name and value, lengths as zigzag varints).
//! librdkafka's own header list costs a header list, one allocation per header, and freeing them
//! all again, per record read.

/// The headers in `bytes`, each name and value (`None`: a null value), if they are well formed.
pub(super) fn parse(bytes: &[u8]) -> Option<WireHeaders<'_>> {
    let headers = WireHeaders::new(bytes)?;
    // Checked whole first: malformed headers are left to librdkafka, as every record's were.
    let mut check = headers.clone();
    while let Some(header) = check.read() {
        header?;
    }
    check.rest.is_empty().then_some(headers)
}

/// The headers left to read in a record's header bytes.
#[derive(Clone)]
pub(super) struct WireHeaders<'a> {
    rest: &'a [u8],
    left: u64,
}

impl<'a> WireHeaders<'a> {
    fn new(bytes: &'a [u8]) -> Option<Self> {
        let mut headers = WireHeaders {
            rest: bytes,
            left: 0,
        };
        headers.left = u64::try_from(headers.varint()?).ok()?;
        Some(headers)
    }

    /// The next header; `Some(None)`: malformed.
    #[allow(clippy::type_complexity)]
    fn read(&mut self) -> Option<Option<(&'a [u8], Option<&'a [u8]>)>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(self.header())
    }

    fn header(&mut self) -> Option<(&'a [u8], Option<&'a [u8]>)> {
        let name_len = usize::try_from(self.varint()?).ok()?;
        let name = self.take(name_len)?;
        let value = match self.varint()? {
            -1 => None,
            len => Some(self.take(usize::try_from(len).ok()?)?),
        };
        Some((name, value))
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        Some(taken)
    }

    /// A zigzag-encoded signed varint.
    fn varint(&mut self) -> Option<i64> {
        let mut value = 0u64;
        for (index, byte) in self.rest.iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                self.rest = &self.rest[index + 1..];
                return Some((value >> 1) as i64 ^ -((value & 1) as i64));
            }
        }
        None
    }
}

impl<'a> Iterator for WireHeaders<'a> {
    type Item = (&'a [u8], Option<&'a [u8]>);

    fn next(&mut self) -> Option<Self::Item> {
        self.read().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `value` as a zigzag varint.
    fn varint(value: i64, out: &mut Vec<u8>) {
        let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
        while zigzag >= 0x80 {
            out.push(zigzag as u8 | 0x80);
            zigzag >>= 7;
        }
        out.push(zigzag as u8);
    }

    fn encoded(headers: &[(&str, Option<&str>)]) -> Vec<u8> {
        let mut out = Vec::new();
        varint(headers.len() as i64, &mut out);
        for (name, value) in headers {
            varint(name.len() as i64, &mut out);
            out.extend_from_slice(name.as_bytes());
            match value {
                Some(value) => {
                    varint(value.len() as i64, &mut out);
                    out.extend_from_slice(value.as_bytes());
                }
                None => varint(-1, &mut out),
            }
        }
        out
    }

    #[test]
    fn reads_each_header_and_null_values() {
        let long = "v".repeat(300);
        let bytes = encoded(&[
            ("content-type", Some("application/json")),
            ("ce_gone", None),
            ("ce_long", Some(&long)),
            ("empty", Some("")),
        ]);
        let read: Vec<_> = parse(&bytes).expect("well formed").collect();
        let expected: [(&[u8], Option<&[u8]>); 4] = [
            (b"content-type", Some(b"application/json")),
            (b"ce_gone", None),
            (b"ce_long", Some(long.as_bytes())),
            (b"empty", Some(b"")),
        ];
        assert_eq!(read, expected);
    }

    #[test]
    fn malformed_headers_are_refused_whole() {
        let bytes = encoded(&[("a", Some("1")), ("b", Some("2"))]);
        assert!(
            parse(&bytes[..bytes.len() - 1]).is_none(),
            "a value cut short"
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(parse(&longer).is_none(), "bytes after the last header");
        assert!(parse(&[0x80]).is_none(), "an unfinished count");
        let mut negative = Vec::new();
        varint(-2, &mut negative);
        assert!(parse(&negative).is_none(), "a negative count");
    }
}
