//! Recording authentication events, off the request path.
//!
//! [`Warden::audit`] hands the event to a background writer and returns: a token request no
//! longer waits for an `INSERT` (with SQLite, the one write of a client-credentials grant).
//! The writer appends whatever has queued up in one statement. When the queue is full the
//! caller writes the event itself, so nothing is dropped and memory stays bounded; readers
//! ([`Warden::audit_events`], the CLI) flush first, so they see every event recorded before
//! they asked. A failure to record is logged, never fatal to the request.

use tokio::sync::{mpsc, oneshot};

use super::{Warden, now};
use crate::storage::{AuditEvent, Storage};

/// Events waiting for the writer at most; past that, callers write themselves.
const QUEUE: usize = 4096;
/// Events appended in one statement at most.
const MAX_BATCH: usize = 256;

enum Message {
    Event(AuditEvent),
    /// Answered once every event sent before it is stored.
    Flush(oneshot::Sender<()>),
}

/// The sending side of the background audit writer.
pub(super) struct AuditWriter(mpsc::Sender<Message>);

impl AuditWriter {
    /// Starts the writer task on the current Tokio runtime. It ends when every sender is
    /// dropped, after storing what was queued.
    pub(super) fn start<S: Storage>(storage: S) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(storage, receiver));
        Self(sender)
    }
}

async fn run<S: Storage>(storage: S, mut receiver: mpsc::Receiver<Message>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut flushed = Vec::new();
    while let Some(first) = receiver.recv().await {
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Event(event) => batch.push(event),
                Message::Flush(done) => flushed.push(done),
            }
            next = if batch.len() < MAX_BATCH {
                receiver.try_recv().ok()
            } else {
                None
            };
        }
        if !batch.is_empty() {
            if let Err(error) = storage.append_audit_batch(&batch).await {
                tracing::error!(%error, events = batch.len(), "could not record audit events");
            }
            batch.clear();
        }
        for done in flushed.drain(..) {
            let _ = done.send(());
        }
    }
}

impl<S: Storage> Warden<S> {
    /// Records `event` with its `outcome` (`success`/`failure`). Never pass a secret.
    pub async fn audit(
        &self,
        event: &str,
        outcome: &str,
        actor: Option<&str>,
        client_id: Option<&str>,
        ip: Option<&str>,
        detail: Option<&str>,
    ) {
        let record = AuditEvent {
            id: uuid::Uuid::new_v4().to_string(),
            at: now(),
            event: event.to_owned(),
            actor: actor.map(str::to_owned),
            client_id: client_id.map(str::to_owned),
            ip: ip.map(str::to_owned),
            outcome: outcome.to_owned(),
            detail: detail.map(str::to_owned),
        };
        let record = match self.inner.audit.0.try_send(Message::Event(record)) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(Message::Event(record)))
            | Err(mpsc::error::TrySendError::Closed(Message::Event(record))) => record,
            Err(_) => return,
        };
        // The queue is full (or the writer gone): write it here, as before the writer existed.
        if let Err(error) = self.storage().append_audit(&record).await {
            tracing::error!(%error, event, "could not record an audit event");
        }
    }

    /// Waits until every event recorded so far is stored.
    pub async fn flush_audit(&self) {
        let (done, stored) = oneshot::channel();
        if self.inner.audit.0.send(Message::Flush(done)).await.is_ok() {
            let _ = stored.await;
        }
    }
}
