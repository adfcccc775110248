//! `warden serve` over HTTPS: the built binary started with `WARDEN_TLS_CERT` and
//! `WARDEN_TLS_KEY` on a temporary SQLite database, certificates from test CAs made with
//! rcgen at test time, and the pair replaced while the server runs.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::CertificateDer;

/// A certificate authority for one test.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    fn reqwest(&self) -> reqwest::Certificate {
        reqwest::Certificate::from_der(self.issuer.der()).unwrap()
    }

    /// A server certificate for `localhost` and `127.0.0.1`: (certificate PEM, key PEM).
    fn server(&self) -> (String, String) {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let pem = |tag: &str, der: &[u8]| pem::encode(&pem::Pem::new(tag, der.to_vec()));
        (
            pem("CERTIFICATE", cert.der()),
            pem("PRIVATE KEY", &key.serialize_der()),
        )
    }
}

/// Replaces `path` the way deployment tools do: a new file renamed over the old one.
fn replace(path: &Path, contents: &str) {
    let staged = path.with_extension("new");
    std::fs::write(&staged, contents).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

/// A scratch directory: database, master key, certificate files and the server's log.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("warden-tls-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// `warden serve` on 127.0.0.1:0 with these extra variables; stderr goes to a file.
    fn command(&self, env: &[(&str, &OsStr)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
        command
            .arg("serve")
            .env_clear()
            .env(
                "WARDEN_DATABASE_URL",
                format!("sqlite://{}?mode=rwc", self.dir.join("warden.db").display()),
            )
            .env("WARDEN_MASTER_KEY_FILE", self.dir.join("warden.key"))
            .env("WARDEN_BIND", "127.0.0.1:0")
            .env("WARDEN_LOG", "info")
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(self.dir.join("stderr.log")).unwrap());
        for (name, value) in env {
            command.env(name, value);
        }
        command
    }

    /// Runs `warden serve`, expecting it to refuse to start; its stderr.
    fn refused(&self, env: &[(&str, &OsStr)]) -> String {
        let status = self.command(env).status().unwrap();
        let log = self.log();
        assert!(!status.success(), "started with {env:?}: {log}");
        log
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A running `warden serve`, killed if the test ends early.
struct Running {
    child: Child,
    addr: SocketAddr,
}

impl Running {
    /// Starts the server and reads its first line, `listening on https://ADDR`.
    fn start(scratch: &Scratch, env: &[(&str, &OsStr)]) -> Self {
        let mut child = scratch.command(env).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(addr) = line.trim().strip_prefix("listening on https://") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("first line {line:?}; stderr: {}", scratch.log());
        };
        let addr = addr.parse().unwrap();
        Self { child, addr }
    }

    /// Sends `signal` (`HUP`, `TERM`) to the server.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM, then the exit status. Waits without blocking the runtime: clients' open
    /// HTTP/2 connections must answer the server's GOAWAY and PING for it to finish.
    async fn terminate(mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "still running after SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A client trusting exactly `roots`, opening a new connection for every request (so a
/// reloaded certificate is seen) and reaching `localhost` at `addr`.
fn client(
    roots: impl IntoIterator<Item = reqwest::Certificate>,
    addr: SocketAddr,
) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only(roots)
        .pool_max_idle_per_host(0)
        .resolve("localhost", addr)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// `GET https://localhost:PORT/healthz`.
async fn healthz(client: &reqwest::Client, addr: SocketAddr) -> reqwest::Result<reqwest::Response> {
    client
        .get(format!("https://localhost:{}/healthz", addr.port()))
        .send()
        .await
}

/// A TLS handshake with rustls offering `versions` and ALPN `h2`, `http/1.1`, trusting only
/// `root`: the negotiated version and protocol.
fn handshake(
    addr: SocketAddr,
    root: CertificateDer<'static>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> (rustls::ProtocolVersion, Option<Vec<u8>>) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let name = "localhost".try_into().unwrap();
    let mut tls = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    while tls.is_handshaking() {
        tls.complete_io(&mut socket).unwrap();
    }
    (
        tls.protocol_version().unwrap(),
        tls.alpn_protocol().map(<[u8]>::to_vec),
    )
}

/// Waits up to 20 seconds for `done`.
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// HTTPS with the configured pair (TLS 1.2 and 1.3, h2 by ALPN, HSTS), refused to clients not
/// trusting its CA and to plain HTTP; a broken replacement is logged and the old pair kept; a
/// pair from a new CA is picked up without a restart; SIGTERM stops the server cleanly.
#[tokio::test]
async fn serves_https_and_reloads_the_certificate() {
    let scratch = Scratch::new();
    let old_ca = Ca::new("Warden test CA 1");
    let (cert, key) = old_ca.server();
    std::fs::write(scratch.cert(), cert).unwrap();
    std::fs::write(scratch.key(), key).unwrap();
    let server = Running::start(
        &scratch,
        &[
            ("WARDEN_TLS_CERT", scratch.cert().as_os_str()),
            ("WARDEN_TLS_KEY", scratch.key().as_os_str()),
            ("WARDEN_TLS_RELOAD_INTERVAL", OsStr::new("1")),
        ],
    );
    let addr = server.addr;

    let trusting_old = client([old_ca.reqwest()], addr);
    let response = healthz(&trusting_old, addr).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    // The IP address is in the certificate too.
    let by_ip = trusting_old
        .get(format!("https://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_ip.status(), 200);
    assert_eq!(
        handshake(addr, old_ca.der(), &[&rustls::version::TLS12]),
        (rustls::ProtocolVersion::TLSv1_2, Some(b"h2".to_vec()))
    );
    assert_eq!(
        handshake(addr, old_ca.der(), &[&rustls::version::TLS13]),
        (rustls::ProtocolVersion::TLSv1_3, Some(b"h2".to_vec()))
    );

    let stranger = Ca::new("Someone else's CA");
    let error = healthz(&client([stranger.reqwest()], addr), addr)
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    let system_roots = reqwest::Client::builder()
        .resolve("localhost", addr)
        .build()
        .unwrap();
    assert!(healthz(&system_roots, addr).await.is_err());
    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP answered: {plain:?}");

    // A key that does not belong to the certificate: logged, the served pair kept.
    let (_, unrelated_key) = old_ca.server();
    replace(&scratch.key(), &unrelated_key);
    eventually("the refused pair to be logged", async || {
        scratch.log().contains("kept the previous TLS certificate")
    })
    .await;
    let log = scratch.log();
    assert!(log.contains("tls_cert, tls_key"), "{log}");
    assert_eq!(healthz(&trusting_old, addr).await.unwrap().status(), 200);

    // A pair from a new CA, certificate first: picked up at a later check.
    let new_ca = Ca::new("Warden test CA 2");
    let (cert, key) = new_ca.server();
    replace(&scratch.cert(), &cert);
    replace(&scratch.key(), &key);
    let trusting_new = client([new_ca.reqwest()], addr);
    eventually("the new certificate to be served", async || {
        healthz(&trusting_new, addr).await.is_ok()
    })
    .await;
    let response = healthz(&trusting_new, addr).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let error = healthz(&trusting_old, addr).await.unwrap_err();
    assert!(error.is_connect(), "{error:?}");

    let log = scratch.log();
    assert!(log.contains("reloaded the TLS certificate"), "{log}");
    assert!(
        !log.contains("PRIVATE KEY"),
        "key material in the log: {log}"
    );
    let status = server.terminate().await;
    assert!(status.success(), "{status:?}: {}", scratch.log());
}

/// SIGHUP reloads the pair at once, whatever the check interval.
#[tokio::test]
async fn sighup_reloads_the_certificate() {
    let scratch = Scratch::new();
    let old_ca = Ca::new("Warden test CA 1");
    let (cert, key) = old_ca.server();
    std::fs::write(scratch.cert(), cert).unwrap();
    std::fs::write(scratch.key(), key).unwrap();
    let server = Running::start(
        &scratch,
        &[
            ("WARDEN_TLS_CERT", scratch.cert().as_os_str()),
            ("WARDEN_TLS_KEY", scratch.key().as_os_str()),
            ("WARDEN_TLS_RELOAD_INTERVAL", OsStr::new("3600")),
        ],
    );
    let addr = server.addr;
    let trusting_old = client([old_ca.reqwest()], addr);
    assert_eq!(healthz(&trusting_old, addr).await.unwrap().status(), 200);

    let new_ca = Ca::new("Warden test CA 2");
    let (cert, key) = new_ca.server();
    replace(&scratch.cert(), &cert);
    replace(&scratch.key(), &key);
    server.signal("HUP");
    let trusting_new = client([new_ca.reqwest()], addr);
    eventually("the new certificate to be served", async || {
        healthz(&trusting_new, addr).await.is_ok()
    })
    .await;
    assert!(healthz(&trusting_old, addr).await.is_err());
    let status = server.terminate().await;
    assert!(status.success(), "{status:?}: {}", scratch.log());
}

/// Without TLS the first line still says where to connect, over plain HTTP, and no HSTS.
#[tokio::test]
async fn plain_http_without_tls_settings() {
    let scratch = Scratch::new();
    let mut child = scratch.command(&[]).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .map(str::to_owned);
    let response = match &addr {
        Some(addr) => reqwest::get(format!("http://{addr}/healthz")).await.ok(),
        None => None,
    };
    let _ = child.kill();
    let _ = child.wait();
    let response = response.unwrap_or_else(|| panic!("{line:?}: {}", scratch.log()));
    assert_eq!(response.status(), 200);
    assert!(!response.headers().contains_key("strict-transport-security"));
}

/// Half a pair, a missing file, files that are not PEM and a key of another certificate all
/// stop start-up with a message naming the setting.
#[test]
fn bad_tls_settings_stop_start_up() {
    let scratch = Scratch::new();
    let ca = Ca::new("Warden test CA");
    let (cert, key) = ca.server();
    std::fs::write(scratch.cert(), cert).unwrap();
    std::fs::write(scratch.key(), key).unwrap();
    let missing = scratch.dir.join("missing.pem");
    let (cert, key) = (scratch.cert(), scratch.key());
    let (cert, key, missing) = (cert.as_os_str(), key.as_os_str(), missing.as_os_str());

    let log = scratch.refused(&[("WARDEN_TLS_CERT", cert)]);
    assert!(log.contains("`tls_key`"), "{log}");
    let log = scratch.refused(&[("WARDEN_TLS_KEY", key)]);
    assert!(log.contains("`tls_cert`"), "{log}");

    let log = scratch.refused(&[("WARDEN_TLS_CERT", missing), ("WARDEN_TLS_KEY", key)]);
    assert!(log.contains("tls_cert: cannot read"), "{log}");
    let log = scratch.refused(&[("WARDEN_TLS_CERT", cert), ("WARDEN_TLS_KEY", missing)]);
    assert!(log.contains("tls_key: cannot read"), "{log}");

    let log = scratch.refused(&[("WARDEN_TLS_CERT", key), ("WARDEN_TLS_KEY", key)]);
    assert!(log.contains("tls_cert:"), "{log}");
    let log = scratch.refused(&[("WARDEN_TLS_CERT", cert), ("WARDEN_TLS_KEY", cert)]);
    assert!(log.contains("tls_key:"), "{log}");

    let (_, other_key) = ca.server();
    let other = scratch.dir.join("other.pem");
    std::fs::write(&other, other_key).unwrap();
    let log = scratch.refused(&[
        ("WARDEN_TLS_CERT", cert),
        ("WARDEN_TLS_KEY", other.as_os_str()),
    ]);
    assert!(log.contains("tls_cert, tls_key"), "{log}");
    assert!(!log.contains("PRIVATE KEY"), "{log}");

    let log = scratch.refused(&[
        ("WARDEN_TLS_CERT", cert),
        ("WARDEN_TLS_KEY", key),
        ("WARDEN_TLS_RELOAD_INTERVAL", OsStr::new("0")),
    ]);
    assert!(log.contains("`tls_reload_interval`"), "{log}");
}
