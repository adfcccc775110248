//! `warden serve`: migrations, keys, the bootstrap administrator, the HTTP(S) server, periodic
//! clean-up and graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::Config;
use crate::domain::keys::MasterKey;
use crate::domain::{DomainError, NewAccount, Warden, now};
use crate::http::{AppState, router, with_hsts};
use crate::storage::{AnyStorage, Storage};
use crate::tls::Tls;

/// Opens storage, migrates, and starts the domain with its signing keys.
pub async fn open(config: &Config) -> Result<Warden<AnyStorage>, String> {
    Ok(open_with_master_key(config).await?.0)
}

/// Opens storage and migrates.
pub async fn open_storage(config: &Config) -> Result<AnyStorage, String> {
    let storage = AnyStorage::connect(&config.database_url)
        .await
        .map_err(|e| format!("database_url: cannot open the database: {e}"))?;
    storage
        .migrate()
        .await
        .map_err(|e| format!("migrations failed: {e}"))?;
    Ok(storage)
}

/// The master key for `storage`: a new one may be made only while it holds no signing key.
pub async fn master_key(storage: &AnyStorage, config: &Config) -> Result<MasterKey, String> {
    let has_keys = !storage
        .signing_keys()
        .await
        .map_err(|e| format!("reading the signing keys: {e}"))?
        .is_empty();
    MasterKey::load(&config.master_key_file, !has_keys).map_err(|e| format!("master key: {e}"))
}

/// [`open`], also returning the master key (the server keeps it to reload signing keys).
pub async fn open_with_master_key(
    config: &Config,
) -> Result<(Warden<AnyStorage>, MasterKey), String> {
    let storage = open_storage(config).await?;
    let master = master_key(&storage, config).await?;
    let warden = Warden::start(storage, config.clone(), &master)
        .await
        .map_err(|e| format!("start-up failed: {e}"))?;
    Ok((warden, master))
}

/// Opens storage, migrates, and starts the domain without signing keys: for the commands
/// that sign nothing, which then need no master key.
pub async fn open_without_signing(config: &Config) -> Result<Warden<AnyStorage>, String> {
    let storage = open_storage(config).await?;
    Warden::without_signing(storage, config.clone())
        .await
        .map_err(|e| format!("start-up failed: {e}"))
}

/// Reloads the signing keys from storage every minute, so a `warden keys rotate` (or another
/// instance's rotation) reaches every running instance without a restart.
fn spawn_key_reload(warden: Warden<AnyStorage>, master: MasterKey) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.tick().await;
        loop {
            tick.tick().await;
            for (alg, ring) in warden.rings() {
                match crate::domain::keys::reload(warden.storage(), &master, alg, ring).await {
                    Ok(true) => {
                        tracing::info!(alg = alg.name(), current = %ring.current_kid(), "signing keys reloaded")
                    }
                    Ok(false) => {}
                    Err(error) => tracing::warn!(%error, "could not reload signing keys"),
                }
            }
        }
    });
}

/// Creates the first administrator from `WARDEN_BOOTSTRAP_ADMIN_PASSWORD` when there are no
/// users; otherwise says how to create one.
async fn bootstrap(warden: &Warden<AnyStorage>) -> Result<(), String> {
    if warden
        .storage()
        .count_users()
        .await
        .map_err(|e| e.to_string())?
        > 0
    {
        return Ok(());
    }
    match std::env::var("WARDEN_BOOTSTRAP_ADMIN_PASSWORD") {
        Ok(password) if !password.is_empty() => {
            // An operator's second-factor policy on the role survives restarts.
            let require_mfa = warden
                .storage()
                .roles(&["admin".to_owned()])
                .await
                .map_err(|e| e.to_string())?
                .first()
                .is_some_and(|role| role.require_mfa);
            warden
                .storage()
                .put_role(&crate::storage::Role {
                    name: "admin".into(),
                    scopes: vec!["admin".into(), "me".into()],
                    require_mfa,
                })
                .await
                .map_err(|e| e.to_string())?;
            match warden
                .create_user(NewAccount {
                    username: "admin".into(),
                    password,
                    email: None,
                    roles: vec!["admin".into()],
                })
                .await
            {
                Ok(_) => tracing::info!(
                    "created the administrator `admin` from WARDEN_BOOTSTRAP_ADMIN_PASSWORD"
                ),
                Err(DomainError::WeakPassword(reason)) => {
                    return Err(format!("WARDEN_BOOTSTRAP_ADMIN_PASSWORD: {reason}"));
                }
                Err(other) => return Err(other.to_string()),
            }
        }
        _ => tracing::info!(
            "no users yet: create one with `warden user create admin --role admin --password-stdin`, \
             or set WARDEN_BOOTSTRAP_ADMIN_PASSWORD"
        ),
    }
    Ok(())
}

/// Creates or updates each `[[upstream_providers]]` of the configuration: the same on every
/// restart, and on instances starting together (of two creating one provider, the second
/// updates it). A provider the settings do not describe stops start-up, named.
pub async fn apply_upstream_providers(
    warden: &Warden<AnyStorage>,
    config: &Config,
) -> Result<(), String> {
    for configured in &config.upstream_providers {
        let secret = configured.secret().map_err(|e| e.to_string())?;
        let kind = crate::domain::ProviderKind::parse(&configured.kind).ok_or_else(|| {
            configured
                .invalid("kind", "must be `oidc` or `github`")
                .to_string()
        })?;
        let settings = crate::domain::ProviderSettings {
            id: configured.id.clone(),
            display_name: configured.display_name.clone(),
            kind,
            issuer: configured.issuer.clone(),
            authorization_endpoint: configured.authorization_endpoint.clone(),
            token_endpoint: configured.token_endpoint.clone(),
            userinfo_endpoint: configured.userinfo_endpoint.clone(),
            jwks_uri: configured.jwks_uri.clone(),
            api_base: configured.api_base.clone(),
            client_id: configured.client_id.clone(),
            scopes: configured.scopes.clone(),
            allow_signup: configured.allow_signup,
            trust_email: configured.trust_email,
            trust_mfa: configured.trust_mfa,
            roles_claim: configured.roles_claim.clone(),
            role_map: configured.role_map.clone(),
            enabled: configured.enabled,
        };
        match warden.put_provider(settings, secret).await {
            Ok((_, created)) => tracing::info!(
                provider = %configured.id,
                created,
                "upstream provider from the configuration"
            ),
            Err(DomainError::InvalidRequest(reason)) => {
                return Err(format!(
                    "invalid setting `upstream_providers`: provider `{}`: {reason}",
                    configured.id
                ));
            }
            Err(other) => {
                return Err(format!(
                    "upstream_providers: provider `{}`: {other}",
                    configured.id
                ));
            }
        }
    }
    Ok(())
}

/// Runs the server until Ctrl-C or SIGTERM, then finishes in-flight requests.
pub async fn serve(config: Config) -> Result<(), String> {
    let started = std::time::Instant::now();
    // Before storage: a bad certificate stops start-up without touching the database.
    let tls = match config.tls() {
        Some((cert, key)) => {
            let interval = Duration::from_secs(config.tls_reload_interval);
            Some(Tls::load(cert, key, interval).await?)
        }
        None => None,
    };
    let (warden, master) = open_with_master_key(&config).await?;
    bootstrap(&warden).await?;
    apply_upstream_providers(&warden, &config).await?;
    spawn_key_reload(warden.clone(), master);
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| format!("bind: cannot listen on {} ({e})", config.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    spawn_cleanup(warden.clone());
    let app = router(AppState::new(warden.clone())?);
    tracing::info!(%addr, backend = warden.storage().backend(), ready_in_ms = started.elapsed().as_millis() as u64, "listening");
    let served = if let Some(tls) = tls {
        println!("listening on https://{addr}");
        tls.serve(listener, with_hsts(app), shutdown_signal()).await
    } else {
        println!("listening on http://{addr}");
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
    };
    // Requests are done: store the audit events still queued before the process ends.
    warden.flush_audit().await;
    served
}

/// Deletes expired refresh tokens, retired keys and old audit events every ten minutes, so
/// tables do not grow without bound.
fn spawn_cleanup(warden: Warden<AnyStorage>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let at = now();
            match warden
                .storage()
                .purge_expired(at, at - 90 * 24 * 3600)
                .await
            {
                Ok(0) => {}
                Ok(rows) => tracing::info!(rows, "purged expired records"),
                Err(error) => tracing::warn!(%error, "clean-up failed"),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down; finishing in-flight requests");
}
