//! Forgetting submitters' addresses once they are older than the retention allows (GDPR
//! storage limitation), on both back-ends: a submission keeps its record, with its address
//! replaced by [`ERASED`]; its audit entry names no address any more; rate-limit rows, keyed
//! by address, go once they no longer limit anything.

use jiff::Timestamp;

use super::StoreError;

/// What stands where an address was.
pub const ERASED: &str = "erased";

/// What one pass erased.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Erased {
    pub submissions: u64,
    pub audit_entries: u64,
    pub rate_limits: u64,
}

// Times are RFC 3339 text; compared as times, not as text (fractions of seconds vary).
const SUBMISSIONS_SQLITE: &str = "UPDATE submissions SET client = 'erased'
     WHERE client <> 'erased' AND julianday(submitted_at) < julianday(?1)";
const AUDIT_SQLITE: &str = "UPDATE audit SET actor = 'public (address erased)'
     WHERE action = 'submit' AND actor LIKE 'public %' AND actor <> 'public (address erased)'
       AND julianday(at) < julianday(?1)";
const SUBMISSIONS_POSTGRES: &str = "UPDATE submissions SET client = 'erased'
     WHERE client <> 'erased' AND submitted_at::timestamptz < $1::text::timestamptz";
const AUDIT_POSTGRES: &str = "UPDATE audit SET actor = 'public (address erased)'
     WHERE action = 'submit' AND actor LIKE 'public %' AND actor <> 'public (address erased)'
       AND at::timestamptz < $1::text::timestamptz";
/// A client's row matters only while its theoretical arrival time is ahead of now: older
/// rows limit nothing, and go however recent (they are kept no longer than they serve).
const RATE_LIMITS: &str = "DELETE FROM rate_limits WHERE arrival < $1";

pub(super) fn erase_sqlite(
    conn: &mut rusqlite::Connection,
    before: Timestamp,
    now: f64,
) -> Result<Erased, StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let before = before.to_string();
    let erased = Erased {
        submissions: tx.execute(SUBMISSIONS_SQLITE, [&before])? as u64,
        audit_entries: tx.execute(AUDIT_SQLITE, [&before])? as u64,
        rate_limits: tx.execute(&RATE_LIMITS.replace('$', "?"), [now])? as u64,
    };
    tx.commit()?;
    Ok(erased)
}

pub(super) async fn erase_postgres(
    client: &mut deadpool_postgres::Object,
    before: Timestamp,
    now: f64,
) -> Result<Erased, StoreError> {
    let tx = client.transaction().await?;
    let before = before.to_string();
    let erased = Erased {
        submissions: tx.execute(SUBMISSIONS_POSTGRES, &[&before]).await?,
        audit_entries: tx.execute(AUDIT_POSTGRES, &[&before]).await?,
        rate_limits: tx.execute(RATE_LIMITS, &[&now]).await?,
    };
    tx.commit().await?;
    Ok(erased)
}
