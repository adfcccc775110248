//! HTTPS: rustls on aws-lc-rs (TLS 1.2 and 1.3, ALPN `h2` then `http/1.1`) with the PEM
//! certificate chain of `tls_cert` and the key of `tls_key`. The pair is reloaded without a
//! restart when either file's modification time changes (checked every
//! `tls_reload_interval` seconds) and on SIGHUP; a new pair that does not load is logged and
//! the previous one kept.

use std::future::Future;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Certificate and key files are small; anything larger is not one.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// The configured files and the rustls configuration currently served from them.
pub struct Tls {
    files: Files,
    reload_interval: Duration,
    config: RustlsConfig,
    /// The modification times the served pair was read at.
    seen: Stamp,
    hangup: Hangup,
}

/// The paths of `tls_cert` and `tls_key`.
#[derive(Clone)]
struct Files {
    cert: PathBuf,
    key: PathBuf,
}

/// The two files' modification times (`None`: not readable).
type Stamp = (Option<SystemTime>, Option<SystemTime>);

impl Tls {
    /// Reads and checks the pair; each error names `tls_cert` or `tls_key` and never
    /// contains key material. From here on SIGHUP reloads the pair instead of ending the
    /// process.
    pub async fn load(cert: &Path, key: &Path, reload_interval: Duration) -> Result<Self, String> {
        let files = Files {
            cert: cert.to_owned(),
            key: key.to_owned(),
        };
        // Taken before reading, so a write during the read is seen as a later change.
        let seen = files.stamp();
        let config = files.server_config()?;
        Ok(Self {
            files,
            reload_interval,
            config: RustlsConfig::from_config(Arc::new(config)),
            seen,
            hangup: Hangup::new(),
        })
    }

    /// Serves `app` over HTTPS on `listener` until `shutdown` completes, then lets in-flight
    /// requests finish. Handlers see the peer as `ConnectInfo<SocketAddr>`.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        app: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), String> {
        let handle = axum_server::Handle::<SocketAddr>::new();
        let stopping = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            stopping.graceful_shutdown(None);
        });
        let watcher = tokio::spawn(watch(
            self.files,
            self.config.clone(),
            self.reload_interval,
            self.seen,
            self.hangup,
        ));
        let served = axum_server::Server::<SocketAddr>::from_listener(listener)
            .acceptor(RustlsAcceptor::new(self.config))
            .handle(handle)
            .serve(app.into_make_service_with_connect_info::<SocketAddr>())
            .await;
        watcher.abort();
        served.map_err(|e| e.to_string())
    }
}

impl Files {
    fn stamp(&self) -> Stamp {
        let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        (modified(&self.cert), modified(&self.key))
    }

    /// Reads both files and builds the server configuration from them.
    fn server_config(&self) -> Result<ServerConfig, String> {
        let cert_pem = read(&self.cert, "tls_cert")?;
        let key_pem = read(&self.key, "tls_key")?;
        let certs = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("tls_cert: {} is not valid PEM ({e})", self.cert.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "tls_cert: {} holds no PEM certificate",
                self.cert.display()
            ));
        }
        // The PEM error is not shown: some of its variants quote the file.
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
            format!(
                "tls_key: {} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
                self.key.display()
            )
        })?;
        server_config(certs, key).map_err(|e| {
            format!(
                "tls_cert, tls_key: {} and {} are not a usable certificate and key ({e})",
                self.cert.display(),
                self.key.display()
            )
        })
    }
}

/// Reads at most [`MAX_PEM_BYTES`] of `path`; an error names `setting`.
fn read(path: &Path, setting: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_PEM_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("{setting}: cannot read {} ({e})", path.display()))?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(format!(
            "{setting}: {} is larger than {MAX_PEM_BYTES} bytes",
            path.display()
        ));
    }
    Ok(bytes)
}

/// TLS 1.3 and 1.2 on aws-lc-rs, one certificate chain for every server name, `h2` preferred
/// over `http/1.1`. Checks that the key belongs to the first certificate.
fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Reloads the pair when either file's modification time changes (checked every `interval`)
/// and on SIGHUP. A pair that does not load is logged once per change and the served one kept.
async fn watch(
    files: Files,
    served: RustlsConfig,
    interval: Duration,
    mut seen: Stamp,
    mut hangup: Hangup,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        let forced = tokio::select! {
            _ = tick.tick() => false,
            () = hangup.recv() => true,
        };
        let checked = files.clone();
        let reloaded = tokio::task::spawn_blocking(move || {
            let now = checked.stamp();
            if !forced && now == seen {
                return (now, None);
            }
            (now, Some(checked.server_config()))
        })
        .await;
        match reloaded {
            Ok((_, None)) => {}
            Ok((now, Some(Ok(config)))) => {
                seen = now;
                served.reload_from_config(Arc::new(config));
                tracing::info!(
                    cert = %files.cert.display(),
                    "reloaded the TLS certificate and key"
                );
            }
            Ok((now, Some(Err(error)))) => {
                seen = now;
                tracing::error!(%error, "kept the previous TLS certificate and key");
            }
            Err(error) => tracing::error!(%error, "checking the TLS files failed"),
        }
    }
}

/// SIGHUP, where there is such a thing; otherwise a signal that never comes.
struct Hangup {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangup {
    fn new() -> Self {
        #[cfg(unix)]
        {
            let signal =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            if signal.is_none() {
                tracing::warn!("cannot listen for SIGHUP; TLS files are still checked");
            }
            Self { signal }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal
            && signal.recv().await.is_some()
        {
            return;
        }
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_files_name_their_setting() {
        let dir = std::env::temp_dir().join(format!("warden-tls-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let error = Tls::load(&cert, &key, Duration::from_secs(1))
            .await
            .err()
            .unwrap();
        assert!(error.starts_with("tls_cert: cannot read"), "{error}");
        std::fs::write(&cert, "not PEM").unwrap();
        let error = Tls::load(&cert, &key, Duration::from_secs(1))
            .await
            .err()
            .unwrap();
        assert!(error.starts_with("tls_key: cannot read"), "{error}");
        std::fs::write(&key, "not PEM either").unwrap();
        let error = Tls::load(&cert, &key, Duration::from_secs(1))
            .await
            .err()
            .unwrap();
        assert!(error.starts_with("tls_cert: "), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
