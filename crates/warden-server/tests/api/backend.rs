//! A server on 127.0.0.1:0 over a fresh SQLite file or a fresh PostgreSQL database.

use std::net::SocketAddr;

use warden_server::config::Config;
use warden_server::domain::{NewAccount, NewClient, Warden};
use warden_server::http::{AppState, router};
use warden_server::storage::{AnyStorage, Role, Storage};

pub struct Server {
    pub base: String,
    pub warden: Warden<AnyStorage>,
    pub client: reqwest::Client,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Database(String),
}

/// Overrides of the defaults for one test.
#[derive(Default, Clone)]
pub struct Options {
    pub refresh_reuse_grace: Option<u64>,
    pub refresh_reuse_grace_public: bool,
    /// The login budgets; unset, the server's defaults.
    pub login_attempts_per_account_ip: Option<u32>,
    pub login_attempts_per_account: Option<u32>,
    pub login_attempts_per_ip: Option<u32>,
    /// Redis URL and key prefix for shared limits.
    pub redis: Option<(String, String)>,
    /// `trusted_proxies`.
    pub trusted_proxies: Vec<String>,
    /// `api_key_in_query` and `api_key_in_cookie`.
    pub api_key_in_query: bool,
    pub api_key_in_cookie: bool,
    /// The issuer, instead of the server's own `http://127.0.0.1:PORT` (e.g. an `https` one,
    /// to see the cookies a TLS deployment sets, while the test still talks plain HTTP).
    pub issuer: Option<String>,
    /// Serve as `http://localhost:PORT` (issuer and base URL): WebAuthn needs a domain as
    /// relying party, never an IP address.
    pub localhost: bool,
    /// `dpop_nonce`: DPoP proofs must carry a server nonce.
    pub dpop_nonce: bool,
    /// `require_pushed_authorization_requests`.
    pub require_par: bool,
    /// `open_client_registration`.
    pub open_client_registration: bool,
}

fn admin_url() -> String {
    std::env::var("WARDEN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A new, empty PostgreSQL database: its URL and name. `None` (a skip) when PostgreSQL is
/// unreachable, except under `CI=true`, where that fails the test.
pub async fn new_postgres_database() -> Option<(String, String)> {
    use sqlx::Connection;
    let admin = admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(conn) => conn,
        Err(error) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL at {admin} is unreachable under CI=true: {error}");
            }
            eprintln!("skipping: PostgreSQL unreachable ({error})");
            return None;
        }
    };
    let name = format!("warden_api_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let url = match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("bad admin URL"),
    };
    Some((url, name))
}

/// Drops a database made by [`new_postgres_database`].
pub async fn drop_postgres_database(name: &str) {
    use sqlx::Connection;
    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}

impl Server {
    pub async fn sqlite(options: Options) -> Self {
        let dir = std::env::temp_dir().join(format!("warden-api-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("warden.db").display());
        Self::start(url, &dir, options, Cleanup::File(dir.clone())).await
    }

    pub async fn postgres(options: Options) -> Option<Self> {
        let (url, name) = new_postgres_database().await?;
        let dir = std::env::temp_dir().join(format!("warden-api-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Some(Self::start(url, &dir, options, Cleanup::Database(name)).await)
    }

    async fn start(
        database_url: String,
        dir: &std::path::Path,
        options: Options,
        cleanup: Cleanup,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let defaults = Config::default();
        let config = Config {
            bind: addr,
            issuer: options.issuer.clone().unwrap_or_else(|| {
                if options.localhost {
                    format!("http://localhost:{}", addr.port())
                } else {
                    format!("http://{addr}")
                }
            }),
            database_url,
            master_key_file: dir.join("warden.key"),
            refresh_reuse_grace: options
                .refresh_reuse_grace
                .unwrap_or(defaults.refresh_reuse_grace),
            refresh_reuse_grace_public: options.refresh_reuse_grace_public,
            login_attempts_per_account_ip: options
                .login_attempts_per_account_ip
                .unwrap_or(defaults.login_attempts_per_account_ip),
            login_attempts_per_account: options
                .login_attempts_per_account
                .unwrap_or(defaults.login_attempts_per_account),
            login_attempts_per_ip: options
                .login_attempts_per_ip
                .unwrap_or(defaults.login_attempts_per_ip),
            redis_url: options.redis.as_ref().map(|(url, _)| url.clone()),
            trusted_proxies: options.trusted_proxies.clone(),
            api_key_in_query: options.api_key_in_query,
            api_key_in_cookie: options.api_key_in_cookie,
            dpop_nonce: options.dpop_nonce,
            require_pushed_authorization_requests: options.require_par,
            open_client_registration: options.open_client_registration,
            redis_prefix: options
                .redis
                .as_ref()
                .map_or_else(|| "warden:".to_owned(), |(_, p)| p.clone()),
            ..defaults
        };
        let warden = warden_server::server::open(&config).await.unwrap();
        let app = router(AppState::new(warden.clone()).unwrap());
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Self {
            base: if options.localhost {
                format!("http://localhost:{}", addr.port())
            } else {
                format!("http://{addr}")
            },
            warden,
            client: reqwest::Client::new(),
            cleanup,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A user with `roles`; the password is returned.
    pub async fn user(&self, username: &str, roles: &[&str]) -> String {
        let password = format!("pw-{}", uuid::Uuid::new_v4());
        self.warden
            .create_user(NewAccount {
                username: username.into(),
                password: password.clone(),
                email: None,
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            })
            .await
            .unwrap();
        password
    }

    pub async fn role(&self, name: &str, scopes: &[&str]) {
        self.warden
            .storage()
            .put_role(&Role {
                name: name.into(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                require_mfa: false,
            })
            .await
            .unwrap();
    }

    /// A confidential client; returns (id, secret).
    pub async fn confidential_client(&self, grants: &[&str], scopes: &[&str]) -> (String, String) {
        let (client, secret) = self
            .warden
            .create_client(NewClient {
                name: "test".into(),
                public: false,
                redirect_uris: vec![],
                grant_types: grants.iter().map(|g| (*g).to_owned()).collect(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                ..NewClient::default()
            })
            .await
            .unwrap();
        (client.client_id, secret.unwrap())
    }

    /// A user with `roles` and an email address; the password is returned.
    pub async fn user_with_email(&self, username: &str, email: &str, roles: &[&str]) -> String {
        let password = format!("pw-{}", uuid::Uuid::new_v4());
        self.warden
            .create_user(NewAccount {
                username: username.into(),
                password: password.clone(),
                email: Some(email.into()),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            })
            .await
            .unwrap();
        password
    }

    /// Registers any client (redirect URIs, first party, ID token `alg`…); returns (id,
    /// secret — `None` for a public client).
    pub async fn register_client(&self, new: NewClient) -> (String, Option<String>) {
        let (client, secret) = self.warden.create_client(new).await.unwrap();
        (client.client_id, secret)
    }

    /// POSTs a form to /token; (status, JSON body).
    pub async fn token(&self, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let response = self
            .client
            .post(self.url("/token"))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// GETs `path` and reads the JSON answer (discovery, the OpenAPI document…).
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn me(&self, token: &str) -> u16 {
        self.client
            .get(self.url("/users/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub async fn finish(self) {
        match self.cleanup {
            Cleanup::File(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database(name) => {
                drop(self.warden);
                drop_postgres_database(&name).await;
            }
        }
    }
}
