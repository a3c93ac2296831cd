//! Curators: bearer tokens from the environment or a file, checked in constant time.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::api::AppState;
use crate::api::problem::ApiError;

/// Shortest token accepted: shorter ones are guessable.
pub const MIN_TOKEN_LENGTH: usize = 16;

/// The curators allowed to change data, each known by a name (for the audit log) and a token.
#[derive(Default)]
pub struct Curators {
    /// Token digests, so that comparisons take the same time whatever the token's length.
    tokens: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for Curators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.tokens.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Curators").field("names", &names).finish()
    }
}

impl Curators {
    /// Reads `name:token` entries separated by commas or newlines; `#` starts a comment line.
    /// A bare token is named `curator-N`. `origin` names where the text came from, for errors.
    pub fn parse(text: &str, origin: &str) -> Result<Curators, String> {
        let mut curators = Curators::default();
        curators.add(text, origin)?;
        Ok(curators)
    }

    /// Adds the entries of another source.
    pub fn add(&mut self, text: &str, origin: &str) -> Result<(), String> {
        let entries = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .filter(|entry| !entry.is_empty());
        for (n, entry) in entries.enumerate() {
            let (name, token) = match entry.split_once(':') {
                Some((name, token)) => (name.trim().to_string(), token.trim()),
                None => (format!("curator-{}", self.tokens.len() + 1), entry),
            };
            if token.chars().count() < MIN_TOKEN_LENGTH {
                return Err(format!(
                    "{origin}, entry {}: the token of \"{name}\" is shorter than {MIN_TOKEN_LENGTH} characters",
                    n + 1
                ));
            }
            let valid_name = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
            if !valid_name {
                return Err(format!(
                    "{origin}, entry {}: curator names are 1 to 64 of a-z, A-Z, 0-9, '.', '_', '-', '@'",
                    n + 1
                ));
            }
            self.tokens.push((name, digest(token)));
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The curator whose token this is. Every configured token is compared, in constant
    /// time, so the answer's timing says nothing about which token came close.
    pub fn authenticate(&self, token: &str) -> Option<&str> {
        let offered = digest(token);
        let mut found = None;
        for (name, expected) in &self.tokens {
            if bool::from(expected.ct_eq(&offered)) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// An authenticated curator, extracted from `Authorization: Bearer TOKEN`.
pub struct Curator(pub String);

impl FromRequestParts<AppState> for Curator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or(ApiError::Unauthorized)?;
        state
            .curators
            .authenticate(token)
            .map(|name| Curator(name.to_string()))
            .ok_or(ApiError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "alice-token-0123456789";
    const BOB: &str = "bob-token-9876543210xx";

    #[test]
    fn tokens_name_their_curator_and_near_misses_fail() {
        let text = format!("# curators\nalice:{ALICE}\nbob:{BOB}, {ALICE}x");
        let curators = Curators::parse(&text, "test").unwrap();
        assert_eq!(curators.authenticate(ALICE), Some("alice"));
        assert_eq!(curators.authenticate(BOB), Some("bob"));
        assert_eq!(
            curators.authenticate(&format!("{ALICE}x")),
            Some("curator-3")
        );
        for miss in [
            "",
            "alice",
            &ALICE[..ALICE.len() - 1],
            &ALICE.to_uppercase(),
        ] {
            assert_eq!(curators.authenticate(miss), None, "{miss}");
        }
    }

    #[test]
    fn weak_tokens_and_bad_names_are_refused_naming_the_entry() {
        let short = Curators::parse("carol:short", "SKILLSMAP_CURATOR_TOKENS").unwrap_err();
        assert!(
            short.contains("SKILLSMAP_CURATOR_TOKENS, entry 1"),
            "{short}"
        );
        assert!(Curators::parse(&format!("a b:{ALICE}"), "f").is_err());
        assert!(Curators::parse("", "f").unwrap().is_empty());
    }

    #[test]
    fn debug_output_never_shows_tokens() {
        let curators = Curators::parse(&format!("alice:{ALICE}"), "t").unwrap();
        let shown = format!("{curators:?}");
        assert!(shown.contains("alice") && !shown.contains(ALICE), "{shown}");
    }
}
