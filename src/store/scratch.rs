//! Throwaway PostgreSQL databases for tests and benchmarks: one fresh database per use on the
//! server `SKILLSMAP_TEST_POSTGRES` names, dropped afterwards.

use super::{StoreError, StoreLocation};

/// The variable naming the PostgreSQL server that tests and benchmarks may create databases on
/// (a superuser's URL, e.g. `postgres://postgres@127.0.0.1:5433/postgres`).
pub const SERVER_VARIABLE: &str = "SKILLSMAP_TEST_POSTGRES";

/// The test server's URL. Without one, CI (`CI` set) fails loudly; elsewhere the PostgreSQL
/// half of a test is skipped with a notice, so that `cargo test` works without PostgreSQL.
pub fn server_url(test: &str) -> Option<String> {
    match std::env::var(SERVER_VARIABLE) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") => {
            panic!(
                "{SERVER_VARIABLE} is not set, but CI must test PostgreSQL too (scripts/test starts one)"
            )
        }
        _ => {
            eprintln!("notice: {test}: skipping PostgreSQL ({SERVER_VARIABLE} is not set)");
            None
        }
    }
}

/// A database of its own on the test server, dropped (connections and all) when this drops.
pub struct ScratchDatabase {
    server: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Creates an empty database on the server `server_url` names.
    pub fn create(server_url: &str) -> Result<ScratchDatabase, StoreError> {
        let name = format!("skillsmap_test_{:016x}", rand::random::<u64>());
        admin(server_url, format!("CREATE DATABASE {name}"))?;
        let mut url = url::Url::parse(server_url)
            .map_err(|e| StoreError::Backend(format!("{SERVER_VARIABLE}: {e}")))?;
        url.set_path(&format!("/{name}"));
        Ok(ScratchDatabase {
            server: server_url.to_string(),
            name,
            url: url.to_string(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn location(&self) -> StoreLocation {
        StoreLocation::Postgres(self.url.clone())
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = admin(&self.server, sql) {
            eprintln!("cannot drop the scratch database {}: {e}", self.name);
        }
    }
}

/// Runs one statement on the server, on a thread and runtime of its own so that it works
/// from synchronous and asynchronous callers alike.
pub(crate) fn admin(server_url: &str, sql: String) -> Result<(), StoreError> {
    let url = server_url.to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        runtime.block_on(async {
            let (config, tls) = super::postgres::connection_config(&url)?;
            let (client, connection) = config.connect(tls).await?;
            tokio::spawn(connection);
            client.batch_execute(&sql).await?;
            Ok(())
        })
    })
    .join()
    .map_err(|_| StoreError::Backend("the scratch database thread panicked".into()))?
}
