//! Recording authentication events. A failure to record is logged, never fatal to the request.

use super::{Warden, now};
use crate::storage::{AuditEvent, Storage};

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
        if let Err(error) = self.storage().append_audit(&record).await {
            tracing::error!(%error, event, "could not record an audit event");
        }
    }
}
