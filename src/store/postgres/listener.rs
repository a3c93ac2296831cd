//! Waking replicas when any process commits: a session of its own `LISTEN`ing on the
//! store's channel.

use futures_util::StreamExt;
use tokio_postgres::AsyncMessage;

use super::{CHANNEL, connection_config};
use crate::store::StoreError;

/// Wakes a replica whenever any process commits a change to the store.
pub struct Listener {
    wake: tokio::sync::mpsc::UnboundedReceiver<u64>,
    /// Kept open: dropping it would end the session and its `LISTEN`.
    _client: tokio_postgres::Client,
}

impl Listener {
    /// Opens a session of its own (outside the pool) listening on [`CHANNEL`]; runs on the
    /// caller's async runtime.
    pub async fn connect(url: &str) -> Result<Listener, StoreError> {
        let (config, tls) = connection_config(url)?;
        let (client, mut connection) = config.connect(tls).await?;
        let (sender, wake) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notification(note)) => {
                        let revision = note.payload().parse().unwrap_or(0);
                        if sender.send(revision).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the store's notification session ended");
                        break;
                    }
                }
            }
        });
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        Ok(Listener {
            wake,
            _client: client,
        })
    }

    /// The revision of the next announced change, or `None` once the session is lost (the
    /// changes meanwhile are not announced: the caller catches up by revision).
    pub async fn changed(&mut self) -> Option<u64> {
        let first = self.wake.recv().await?;
        // Several changes announced at once need one catch-up.
        let mut latest = first;
        while let Ok(next) = self.wake.try_recv() {
            latest = latest.max(next);
        }
        Some(latest)
    }
}
