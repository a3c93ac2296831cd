//! NUTS codes of initiatives, and the `nuts=` filter that matches them by prefix.

use std::fmt;

/// The NUTS code of the finest region an initiative lies in (up to 5 ASCII characters,
/// e.g. `DE212`); its prefixes are the coarser levels (`DE2`, `DE21`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NutsCode([u8; 5]);

impl NutsCode {
    pub const NONE: NutsCode = NutsCode([0; 5]);

    /// The code, cut to 5 characters; non-ASCII text gives `NONE`.
    pub fn new(code: &str) -> NutsCode {
        let mut bytes = [0; 5];
        if !code.is_ascii() {
            return NutsCode::NONE;
        }
        for (slot, b) in bytes.iter_mut().zip(code.bytes()) {
            *slot = b;
        }
        NutsCode(bytes)
    }

    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|b| *b == 0).unwrap_or(5);
        std::str::from_utf8(&self.0[..len]).unwrap_or("")
    }

    /// The code's bytes, for saving.
    pub fn raw(&self) -> [u8; 5] {
        self.0
    }

    /// A code from saved bytes; bytes that are not a code give `NONE`.
    pub fn from_raw(bytes: [u8; 5]) -> NutsCode {
        let len = bytes.iter().position(|b| *b == 0).unwrap_or(5);
        match std::str::from_utf8(&bytes[..len]) {
            Ok(text) if bytes[len..].iter().all(|b| *b == 0) => NutsCode::new(text),
            _ => NutsCode::NONE,
        }
    }

    pub fn is_none(&self) -> bool {
        self.0[0] == 0
    }

    /// The code at NUTS level `level` (1–3), when the code is that fine.
    pub fn at_level(&self, level: usize) -> Option<&str> {
        self.as_str().get(..level + 2)
    }
}

impl fmt::Debug for NutsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NutsCode({})", self.as_str())
    }
}

/// The `nuts=` filter: codes at any level, any of which may be a prefix of an initiative's
/// code (`DE2` matches `DE21` and `DE212`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NutsFilter(Vec<NutsCode>);

impl NutsFilter {
    /// Parses codes such as `DE21` or `fr10`: 2 letters and up to 3 letters or digits.
    pub fn parse<'a>(codes: impl IntoIterator<Item = &'a str>) -> Result<NutsFilter, String> {
        let mut parsed = Vec::new();
        for code in codes {
            let upper = code.to_ascii_uppercase();
            let valid = (2..=5).contains(&upper.len())
                && upper.bytes().take(2).all(|b| b.is_ascii_uppercase())
                && upper.bytes().all(|b| b.is_ascii_alphanumeric());
            if !valid {
                return Err(format!(
                    "\"{code}\" is not a NUTS code (2 letters and up to 3 letters or digits, e.g. DE21)"
                ));
            }
            parsed.push(NutsCode::new(&upper));
        }
        Ok(NutsFilter(parsed))
    }

    pub fn matches(&self, code: NutsCode) -> bool {
        !code.is_none()
            && self
                .0
                .iter()
                .any(|prefix| code.as_str().starts_with(prefix.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_finer_codes() {
        let filter = NutsFilter::parse(["de2", "FR10"]).unwrap();
        assert!(filter.matches(NutsCode::new("DE212")));
        assert!(filter.matches(NutsCode::new("FR101")));
        assert!(!filter.matches(NutsCode::new("FR201")));
        assert!(!filter.matches(NutsCode::new("DE111")));
        assert!(!filter.matches(NutsCode::NONE));
        for bad in ["D", "DE2123", "1E", "DE-1", "ÖS1"] {
            assert!(NutsFilter::parse([bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn codes_give_their_levels() {
        let code = NutsCode::new("DE212");
        assert_eq!(code.at_level(1), Some("DE2"));
        assert_eq!(code.at_level(3), Some("DE212"));
        assert_eq!(NutsCode::new("DE2").at_level(2), None);
        assert_eq!(format!("{code:?}"), "NutsCode(DE212)");
    }
}
