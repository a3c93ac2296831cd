//! Where the store is: an SQLite file, or a PostgreSQL server named by a URL (whose password
//! never appears in logs).

use std::path::PathBuf;

/// An SQLite path (`:memory:` for a throwaway store) or a `postgres://` URL.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    Sqlite(PathBuf),
    Postgres(String),
}

impl StoreLocation {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else is an SQLite path.
    pub fn parse(text: &str) -> Result<StoreLocation, String> {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            let url = url::Url::parse(text).map_err(|e| format!("not a valid URL: {e}"))?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err("the PostgreSQL URL names no host".into());
            }
            Ok(StoreLocation::Postgres(text.to_string()))
        } else if text.is_empty() {
            Err("empty store location".into())
        } else {
            Ok(StoreLocation::Sqlite(PathBuf::from(text)))
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, StoreLocation::Postgres(_))
    }
}

impl From<PathBuf> for StoreLocation {
    fn from(path: PathBuf) -> Self {
        StoreLocation::Sqlite(path)
    }
}

impl From<&std::path::Path> for StoreLocation {
    fn from(path: &std::path::Path) -> Self {
        StoreLocation::Sqlite(path.to_path_buf())
    }
}

impl std::str::FromStr for StoreLocation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        StoreLocation::parse(text)
    }
}

/// The location with any password replaced, fit for logs and error messages.
impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => write!(f, "{}", path.display()),
            StoreLocation::Postgres(text) => match url::Url::parse(text) {
                Ok(mut url) => {
                    if url.password().is_some() {
                        let _ = url.set_password(Some("redacted"));
                    }
                    // Query parameters may carry a password too.
                    if url.query_pairs().any(|(k, _)| k == "password") {
                        url.set_query(Some("password=redacted"));
                    }
                    write!(f, "{url}")
                }
                Err(_) => f.write_str("postgres://[unreadable]"),
            },
        }
    }
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{self}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_postgres_and_never_show_their_password() {
        let url = StoreLocation::parse("postgres://app:s3cret@db.example:5432/skills").unwrap();
        assert!(url.is_postgres());
        assert_eq!(
            url.to_string(),
            "postgres://app:redacted@db.example:5432/skills"
        );
        assert!(!format!("{url:?}").contains("s3cret"));
        let query = StoreLocation::parse("postgresql://app@db/skills?password=s3cret").unwrap();
        assert!(!query.to_string().contains("s3cret"));
        assert_eq!(
            StoreLocation::parse("data/skillsmap.db").unwrap(),
            StoreLocation::Sqlite("data/skillsmap.db".into())
        );
        assert!(StoreLocation::parse("postgres://").is_err());
        assert!(StoreLocation::parse("").is_err());
    }
}
