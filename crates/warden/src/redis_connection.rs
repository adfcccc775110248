//! Connecting to Redis: what the Redis stores (rate limits, sessions) share.

use std::error::Error;
use std::time::Duration;

use redis::Client;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// A connection manager for the Redis at `url` (`redis://host:port/db`) that connects on
/// first use and reconnects after failures, so the application starts even while Redis is
/// down. `caller` names the constructor in the error returned outside a Tokio runtime (the
/// manager spawns a task); a malformed URL is an error too.
pub(crate) fn lazy_connection(
    url: &str,
    caller: &str,
) -> Result<ConnectionManager, Box<dyn Error + Send + Sync>> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(format!("{caller} must be called within a Tokio runtime").into());
    }
    let client = Client::open(url)?;
    // Few, quick reconnection attempts: a request waits for them (up to the store's
    // timeout), and the next request starts over anyway.
    let config = ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(1)));
    Ok(ConnectionManager::new_lazy_with_config(client, config)?)
}
