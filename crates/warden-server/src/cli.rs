//! The `warden` command line: the server and its administration, sharing one configuration.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::config::Config;
use zeroize::Zeroizing;

use crate::domain::{
    NewAccount, NewClient, ProviderKind, ProviderSettings, SecretChange, UserUpdate, Warden, now,
};
use crate::storage::{AnyStorage, Role, Storage, UpstreamProvider};

/// Warden: authentication and authorization for HTTP APIs.
#[derive(Debug, Parser)]
#[command(name = "warden", version, about)]
pub struct Cli {
    /// A TOML configuration file; `WARDEN_*` variables override it.
    #[arg(long, global = true, env = "WARDEN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print results as JSON (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (127.0.0.1:8080, ./warden.db unless configured otherwise).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage roles.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Manage OAuth 2.0 clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage upstream identity providers ("log in with another provider").
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// Read the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

/// `warden user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        username: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Read the password from standard input (required: passwords never go in arguments).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Import users with their existing password hashes (bcrypt `$2a$/$2b$/$2y$` from
    /// passlib/pwdlib, or argon2), from a JSON array or a CSV with a header
    /// `username,password_hash[,email]`; rehashed to argon2id at each user's next login.
    Import {
        /// The file (`-` for standard input).
        file: PathBuf,
    },
    /// Disable a user: refused everywhere, refresh tokens revoked.
    Disable { username: String },
    /// Enable a disabled user.
    Enable { username: String },
    /// Replace a user's roles.
    SetRoles {
        username: String,
        roles: Vec<String>,
    },
    /// Remove a user's second factors (TOTP and recovery codes) when they lost them: their
    /// sessions end and their refresh tokens are revoked; audited.
    ResetFactors { username: String },
    /// Change a user: whether their address is verified.
    Update {
        username: String,
        /// `true` or `false`: whether the user's address is known to be theirs.
        #[arg(long)]
        email_verified: Option<bool>,
    },
    /// List the upstream identities linked to a user.
    Identities { username: String },
    /// Unlink a user's identity at an upstream provider (refused when it is their only way
    /// to sign in).
    Unlink { username: String, provider: String },
}

/// `warden provider …`
#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Register an upstream provider; the client secret is read from standard input
    /// (`--client-secret-stdin`) or an environment variable (`--client-secret-env`), never
    /// from an argument.
    Add(ProviderAddArgs),
    /// List the providers (never their secrets).
    List,
    /// Show one provider (never its secret).
    Show { id: String },
    /// Change a provider: only the options given change.
    Update(ProviderUpdateArgs),
    /// Remove a provider with its linked identities.
    Remove { id: String },
}

/// Where the client secret comes from: never an argument.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// Read the client secret from standard input.
    #[arg(long, conflicts_with = "client_secret_env")]
    client_secret_stdin: bool,
    /// Read the client secret from this environment variable.
    #[arg(long, value_name = "VAR")]
    client_secret_env: Option<String>,
}

/// An upstream provider to register.
#[derive(Debug, Args)]
pub struct ProviderAddArgs {
    /// A slug (`[a-z0-9][a-z0-9-]{0,31}`), used in URLs.
    id: String,
    /// `oidc` or `github`.
    #[arg(long)]
    kind: String,
    /// The name shown on the login page.
    #[arg(long)]
    name: String,
    /// `oidc`: the exact issuer (discovery starts from it).
    #[arg(long)]
    issuer: Option<String>,
    /// Warden's client id at the provider.
    #[arg(long)]
    client_id: String,
    #[command(flatten)]
    secret: SecretArgs,
    /// The scopes to ask for (comma-separated or repeated; default per kind).
    #[arg(long, value_delimiter = ',')]
    scopes: Vec<String>,
    /// A first login creates an account.
    #[arg(long)]
    allow_signup: bool,
    /// Believe the provider's verified addresses.
    #[arg(long)]
    trust_email: bool,
    /// Let the provider's `amr`/`acr` satisfy the second-factor policy.
    #[arg(long)]
    trust_mfa: bool,
    /// The claim holding upstream groups or roles (e.g. `groups`).
    #[arg(long)]
    roles_claim: Option<String>,
    /// `upstream=role`: map an upstream value to an existing role (repeatable).
    #[arg(long = "role-map", value_parser = parse_role_mapping)]
    role_map: Vec<(String, String)>,
    #[arg(long)]
    authorization_endpoint: Option<String>,
    #[arg(long)]
    token_endpoint: Option<String>,
    #[arg(long)]
    userinfo_endpoint: Option<String>,
    #[arg(long)]
    jwks_uri: Option<String>,
    /// `github`: the API base (GitHub Enterprise).
    #[arg(long)]
    api_base: Option<String>,
    /// Register it switched off.
    #[arg(long)]
    disabled: bool,
}

/// Changes to an upstream provider; an option not given leaves its setting as it is (an
/// empty value clears an optional one).
#[derive(Debug, Args)]
pub struct ProviderUpdateArgs {
    id: String,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    issuer: Option<String>,
    #[arg(long)]
    client_id: Option<String>,
    #[command(flatten)]
    secret: SecretArgs,
    /// Remove the client secret (a public client, PKCE only).
    #[arg(long, conflicts_with_all = ["client_secret_stdin", "client_secret_env"])]
    no_client_secret: bool,
    #[arg(long, value_delimiter = ',')]
    scopes: Option<Vec<String>>,
    #[arg(long)]
    allow_signup: Option<bool>,
    #[arg(long)]
    trust_email: Option<bool>,
    #[arg(long)]
    trust_mfa: Option<bool>,
    #[arg(long)]
    roles_claim: Option<String>,
    /// Replaces the whole map (repeatable).
    #[arg(long = "role-map", value_parser = parse_role_mapping)]
    role_map: Vec<(String, String)>,
    /// Empty the role map.
    #[arg(long, conflicts_with = "role_map")]
    clear_role_map: bool,
    #[arg(long)]
    authorization_endpoint: Option<String>,
    #[arg(long)]
    token_endpoint: Option<String>,
    #[arg(long)]
    userinfo_endpoint: Option<String>,
    #[arg(long)]
    jwks_uri: Option<String>,
    #[arg(long)]
    api_base: Option<String>,
    #[arg(long)]
    enabled: Option<bool>,
}

/// `upstream=role`.
fn parse_role_mapping(text: &str) -> Result<(String, String), String> {
    match text.rsplit_once('=') {
        Some((upstream, role)) if !upstream.is_empty() && !role.is_empty() => {
            Ok((upstream.to_owned(), role.to_owned()))
        }
        _ => Err(format!("`{text}` is not upstream=role")),
    }
}

/// `warden role …`
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Create or replace a role and the scopes it grants.
    Put {
        name: String,
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Its members must sign in with a second factor (enrolling one at their next login).
        #[arg(long)]
        require_mfa: bool,
    },
    /// List roles.
    List,
}

/// `warden client …`
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints client_id and, for a confidential client, client_secret once.
    Create(ClientArgs),
    /// List clients.
    List,
}

/// A client to register.
#[derive(Debug, Args)]
pub struct ClientArgs {
    name: String,
    /// A public client (no secret: SPAs, native apps).
    #[arg(long)]
    public: bool,
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// `authorization_code`, `refresh_token`, `client_credentials` (the default) or
    /// `password`; repeat for several.
    #[arg(long = "grant-type")]
    grant_types: Vec<String>,
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// The operator's own application: its users are not asked for consent.
    #[arg(long)]
    first_party: bool,
    /// Its users must sign in with a second factor (enrolling one at their next login).
    #[arg(long)]
    require_mfa: bool,
    /// Its authorization requests must be pushed to `/par` first (RFC 9126).
    #[arg(long)]
    require_par: bool,
    /// A file holding its public keys as a JWK Set: it then authenticates with
    /// `private_key_jwt` (RFC 7523) and gets no secret.
    #[arg(long)]
    jwks_file: Option<std::path::PathBuf>,
    /// Its access tokens must be DPoP-bound (RFC 9449): token requests without a `DPoP`
    /// proof are refused.
    #[arg(long)]
    dpop_bound_access_tokens: bool,
    /// Where RP-initiated logout may return to (exact match); repeat for several.
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// The `alg` of the client's ID tokens: `RS256` (default) or `EdDSA`.
    #[arg(long)]
    id_token_alg: Option<String>,
}

/// `warden keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Rotate the signing keys (the old key keeps verifying until its tokens expire).
    Rotate,
}

/// `warden apikey …`
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key for a user; the key is printed once and never stored.
    Create {
        /// The owner's username.
        #[arg(long)]
        user: String,
        /// A label for the key.
        #[arg(long, default_value = "cli")]
        name: String,
        /// A scope the key grants (repeatable); each must be granted by the user's roles.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Lifetime, e.g. `90m`, `12h`, `30d`, `2w` (default: until revoked).
        #[arg(long, value_parser = parse_duration)]
        expires_in: Option<u64>,
    },
    /// List API keys (no key material), of one user or of everyone.
    List {
        /// Only this user's keys.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke an API key by its id.
    Revoke { id: String },
}

/// `warden audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit events, newest first.
    List {
        /// The acting user's id (for a failed login: the username tried).
        #[arg(long)]
        actor: Option<String>,
        /// The event, e.g. `login.failure`, `apikey.created`.
        #[arg(long)]
        event: Option<String>,
        /// At most this many (up to 1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// Parses the command line and runs it; the exit code says how it went.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("warden: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    match execute(cli, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("warden: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WARDEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only on a terminal: a file, a pipe or a log collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        let _ = builder.json().try_init();
    } else {
        let _ = builder.try_init();
    }
}

fn print(json_output: bool, value: serde_json::Value, text: String) {
    if json_output {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

async fn execute(cli: Cli, config: Config) -> Result<(), String> {
    if let Command::Serve = cli.command {
        return crate::server::serve(config).await;
    }
    // Only `keys rotate` touches the signing keys (and loads the master key itself).
    let warden = crate::server::open_without_signing(&config).await?;
    let result = command(&warden, cli, &config).await;
    // The audit log is written in the background: let it catch up before the process ends.
    warden.flush_audit().await;
    result
}

async fn command(warden: &Warden<AnyStorage>, cli: Cli, config: &Config) -> Result<(), String> {
    let storage = warden.storage();
    let out = cli.json;
    match cli.command {
        Command::Serve => unreachable!("handled above"),
        Command::Migrate => print(out, json!({"migrated": true}), "migrations applied".into()),
        Command::User(UserCommand::Create {
            username,
            email,
            roles,
            password_stdin: _,
        }) => {
            let mut password = String::new();
            std::io::stdin()
                .take(4096)
                .read_to_string(&mut password)
                .map_err(|e| format!("reading the password: {e}"))?;
            let password = password.trim_end_matches(['\n', '\r']).to_owned();
            let user = warden
                .create_user(NewAccount {
                    username,
                    password,
                    email,
                    roles,
                })
                .await
                .map_err(|e| e.to_string())?;
            print(
                out,
                json!({"id": user.id, "username": user.username}),
                format!("created user {} ({})", user.username, user.id),
            );
        }
        Command::User(UserCommand::Import { file }) => {
            let mut text = String::new();
            let limit = 64 * 1024 * 1024;
            if file.as_os_str() == "-" {
                std::io::stdin().take(limit).read_to_string(&mut text)
            } else {
                std::fs::File::open(&file).and_then(|f| f.take(limit).read_to_string(&mut text))
            }
            .map_err(|e| format!("{}: {e}", file.display()))?;
            let users = crate::domain::parse_import(&text)?;
            let report = warden
                .import_users(users)
                .await
                .map_err(|e| e.to_string())?;
            let text = format!(
                "imported {}; skipped (already present) {}; rejected {}{}",
                report.imported,
                report.skipped.len(),
                report.rejected.len(),
                report
                    .rejected
                    .iter()
                    .map(|(u, why)| format!("\n  {u}: {why}"))
                    .collect::<String>()
            );
            print(out, serde_json::to_value(&report).unwrap_or_default(), text);
        }
        Command::User(UserCommand::List) => {
            let users = storage
                .list_users(None, 1000)
                .await
                .map_err(|e| e.to_string())?;
            let rows: Vec<_> = users
                .iter()
                .map(|u| json!({"id": u.id, "username": u.username, "email": u.email, "email_verified": u.email_verified, "disabled": u.disabled, "roles": u.roles}))
                .collect();
            let text = users
                .iter()
                .map(|u| {
                    format!(
                        "{}\t{}\t{}",
                        u.username,
                        if u.disabled { "disabled" } else { "active" },
                        u.roles.join(",")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(out, json!(rows), text);
        }
        Command::User(UserCommand::Disable { username }) => {
            warden
                .set_disabled(&username, true)
                .await
                .map_err(|e| e.to_string())?;
            print(
                out,
                json!({"username": username, "disabled": true}),
                format!("disabled {username}"),
            );
        }
        Command::User(UserCommand::Enable { username }) => {
            warden
                .set_disabled(&username, false)
                .await
                .map_err(|e| e.to_string())?;
            print(
                out,
                json!({"username": username, "disabled": false}),
                format!("enabled {username}"),
            );
        }
        Command::User(UserCommand::SetRoles { username, roles }) => {
            warden
                .set_roles(&username, &roles)
                .await
                .map_err(|e| e.to_string())?;
            print(
                out,
                json!({"username": username, "roles": roles}),
                format!("{username}: {}", roles.join(" ")),
            );
        }
        Command::Role(RoleCommand::Put {
            name,
            scopes,
            require_mfa,
        }) => {
            storage
                .put_role(&Role {
                    name: name.clone(),
                    scopes: scopes.clone(),
                    require_mfa,
                })
                .await
                .map_err(|e| e.to_string())?;
            let mfa = if require_mfa {
                " (second factor required)"
            } else {
                ""
            };
            print(
                out,
                json!({"name": name, "scopes": scopes, "require_mfa": require_mfa}),
                format!("role {name}: {}{mfa}", scopes.join(" ")),
            );
        }
        Command::User(UserCommand::ResetFactors { username }) => {
            let removed = warden
                .reset_second_factors(&username, None)
                .await
                .map_err(|e| e.to_string())?;
            print(
                out,
                json!({"username": username, "totp_removed": removed.totp, "passkeys_removed": removed.passkeys, "recovery_codes_removed": removed.recovery_codes, "sessions_ended": removed.sessions, "refresh_tokens_revoked": removed.refresh_tokens}),
                format!(
                    "{username}: second factors removed (TOTP: {}, passkeys: {}, recovery codes: {}), {} sessions ended, {} refresh tokens revoked",
                    if removed.totp { "yes" } else { "none" },
                    removed.passkeys,
                    removed.recovery_codes,
                    removed.sessions,
                    removed.refresh_tokens
                ),
            );
        }
        Command::Role(RoleCommand::List) => {
            let roles = storage.list_roles().await.map_err(|e| e.to_string())?;
            let rows: Vec<_> = roles
                .iter()
                .map(|r| json!({"name": r.name, "scopes": r.scopes, "require_mfa": r.require_mfa}))
                .collect();
            let text = roles
                .iter()
                .map(|r| format!("{}\t{}", r.name, r.scopes.join(" ")))
                .collect::<Vec<_>>()
                .join("\n");
            print(out, json!(rows), text);
        }
        Command::Client(ClientCommand::Create(args)) => {
            let (client, secret) = warden
                .create_client(NewClient {
                    name: args.name,
                    public: args.public,
                    redirect_uris: args.redirect_uris,
                    grant_types: args.grant_types,
                    scopes: args.scopes,
                    first_party: args.first_party,
                    require_mfa: args.require_mfa,
                    require_par: args.require_par,
                    dpop_bound: args.dpop_bound_access_tokens,
                    jwks: match &args.jwks_file {
                        None => None,
                        Some(path) => Some(
                            std::fs::read_to_string(path)
                                .map_err(|e| format!("{}: {e}", path.display()))
                                .and_then(|text| {
                                    serde_json::from_str(&text).map_err(|e| {
                                        format!("{}: not a JWK set: {e}", path.display())
                                    })
                                })?,
                        ),
                    },
                    post_logout_redirect_uris: args.post_logout_redirect_uris,
                    id_token_alg: args.id_token_alg,
                })
                .await
                .map_err(|e| e.to_string())?;
            let text = match &secret {
                Some(secret) => format!(
                    "client_id: {}\nclient_secret: {secret}\n(the secret is shown only now)",
                    client.client_id
                ),
                None => format!("client_id: {}", client.client_id),
            };
            print(
                out,
                json!({"client_id": client.client_id, "client_secret": secret}),
                text,
            );
        }
        Command::Client(ClientCommand::List) => {
            let clients = storage.list_clients().await.map_err(|e| e.to_string())?;
            let rows: Vec<_> = clients
                .iter()
                .map(|c| json!({"client_id": c.client_id, "name": c.name, "public": c.public, "grant_types": c.grant_types, "scopes": c.scopes, "redirect_uris": c.redirect_uris, "first_party": c.first_party}))
                .collect();
            let text = clients
                .iter()
                .map(|c| format!("{}\t{}", c.client_id, c.name))
                .collect::<Vec<_>>()
                .join("\n");
            print(out, json!(rows), text);
        }
        Command::User(UserCommand::Update {
            username,
            email_verified,
        }) => {
            let user = warden
                .update_user(
                    &username,
                    UserUpdate {
                        email_verified,
                        ..UserUpdate::default()
                    },
                    None,
                )
                .await
                .map_err(|e| e.to_string())?;
            print(
                out,
                json!({"id": user.id, "username": user.username, "email": user.email, "email_verified": user.email_verified, "disabled": user.disabled, "roles": user.roles}),
                format!(
                    "{}: email {}",
                    user.username,
                    if user.email_verified {
                        "verified"
                    } else {
                        "not verified"
                    }
                ),
            );
        }
        Command::User(UserCommand::Identities { username }) => {
            let user = warden.user(&username).await.map_err(|e| e.to_string())?;
            let identities = warden.identities(&user).await.map_err(|e| e.to_string())?;
            let rows: Vec<_> = identities
                .iter()
                .map(|i| json!({"provider_id": i.provider_id, "subject": i.subject, "email": i.email, "email_verified": i.email_verified, "linked_at": i.linked_at, "last_login_at": i.last_login_at}))
                .collect();
            let text = identities
                .iter()
                .map(|i| {
                    format!(
                        "{}\t{}\t{}",
                        i.provider_id,
                        i.subject,
                        i.email.as_deref().unwrap_or("-")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(out, json!(rows), text);
        }
        Command::User(UserCommand::Unlink { username, provider }) => {
            let user = warden.user(&username).await.map_err(|e| e.to_string())?;
            warden
                .unlink_identity(&user, &provider, None)
                .await
                .map_err(|e| e.to_string())?;
            print(
                out,
                json!({"username": username, "provider": provider, "unlinked": true}),
                format!("{username}: unlinked from {provider}"),
            );
        }
        Command::Provider(command) => provider_command(warden, command, config, out).await?,
        Command::Apikey(command) => api_key_command(warden, command, out).await?,
        Command::Audit(command) => audit_command(warden, command, out).await?,
        Command::Keys(KeysCommand::Rotate) => {
            let master = crate::server::master_key(storage, config).await?;
            // Access tokens (EdDSA) and ID tokens (RS256 by default) live at most
            // `access_token_ttl`: retired keys verify that long after the rotation.
            let mut current = serde_json::Map::new();
            let mut lines = Vec::new();
            for alg in crate::domain::keys::RING_ALGORITHMS {
                let kid = crate::domain::keys::rotate(
                    storage,
                    &master,
                    alg,
                    now(),
                    config.access_token_ttl,
                )
                .await
                .map_err(|e| e.to_string())?;
                lines.push(format!("current {} signing key: {kid}", alg.name()));
                current.insert(alg.name().to_owned(), kid.into());
            }
            let kid = current
                .get("EdDSA")
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            print(
                out,
                json!({"current_kid": kid, "current": current}),
                lines.join("\n"),
            );
        }
    }
    Ok(())
}

/// A lifetime such as `90m`, `12h`, `30d` or `2w` (also `s`), in seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let invalid = || format!("`{text}` is not a duration like 90m, 12h, 30d or 2w");
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(invalid)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let unit: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 24 * 3600,
        "w" => 7 * 24 * 3600,
        _ => return Err(invalid()),
    };
    number.checked_mul(unit).ok_or_else(invalid)
}

/// A provider as the CLI prints it: never its secret.
fn provider_json(p: &UpstreamProvider) -> serde_json::Value {
    json!({
        "id": p.id, "display_name": p.display_name, "kind": p.kind, "issuer": p.issuer,
        "authorization_endpoint": p.authorization_endpoint, "token_endpoint": p.token_endpoint,
        "userinfo_endpoint": p.userinfo_endpoint, "jwks_uri": p.jwks_uri, "api_base": p.api_base,
        "client_id": p.client_id, "client_secret_set": p.client_secret_sealed.is_some(),
        "scopes": p.scopes, "allow_signup": p.allow_signup, "trust_email": p.trust_email,
        "trust_mfa": p.trust_mfa, "roles_claim": p.roles_claim, "role_map": p.role_map,
        "enabled": p.enabled, "created_at": p.created_at, "updated_at": p.updated_at,
    })
}

fn provider_text(p: &UpstreamProvider) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}",
        p.id,
        p.kind,
        if p.enabled { "enabled" } else { "disabled" },
        p.display_name,
        p.issuer.as_deref().unwrap_or("-")
    )
}

/// The client secret the options name (standard input or a variable), if any.
fn read_secret(args: &SecretArgs) -> Result<Option<Zeroizing<String>>, String> {
    if args.client_secret_stdin {
        let mut secret = Zeroizing::new(String::new());
        std::io::stdin()
            .take(4096)
            .read_to_string(&mut secret)
            .map_err(|e| format!("reading the client secret: {e}"))?;
        let trimmed = secret.trim_end_matches(['\n', '\r']);
        return Ok(Some(Zeroizing::new(trimmed.to_owned())));
    }
    match &args.client_secret_env {
        Some(var) => match std::env::var(var) {
            Ok(secret) if !secret.is_empty() => Ok(Some(Zeroizing::new(secret))),
            _ => Err(format!("the environment variable {var} is not set")),
        },
        None => Ok(None),
    }
}

/// `Some(None)` for an empty value (clear), `Some(Some(v))` to set, `None` to keep.
fn optional(value: Option<String>) -> Option<Option<String>> {
    value.map(|v| (!v.is_empty()).then_some(v))
}

/// The domain able to seal a client secret: it needs the master key.
async fn sealing_warden(
    warden: &Warden<AnyStorage>,
    config: &Config,
) -> Result<Warden<AnyStorage>, String> {
    let master = crate::server::master_key(warden.storage(), config).await?;
    Warden::without_signing_with_master_key(warden.storage().clone(), config.clone(), &master)
        .await
        .map_err(|e| format!("start-up failed: {e}"))
}

/// `warden provider …`.
async fn provider_command(
    warden: &Warden<AnyStorage>,
    command: ProviderCommand,
    config: &Config,
    out: bool,
) -> Result<(), String> {
    match command {
        ProviderCommand::Add(args) => {
            let kind = ProviderKind::parse(&args.kind)
                .ok_or_else(|| "--kind must be oidc or github".to_owned())?;
            let secret = read_secret(&args.secret)?;
            let settings = ProviderSettings {
                id: args.id,
                display_name: args.name,
                kind,
                issuer: args.issuer,
                authorization_endpoint: args.authorization_endpoint,
                token_endpoint: args.token_endpoint,
                userinfo_endpoint: args.userinfo_endpoint,
                jwks_uri: args.jwks_uri,
                api_base: args.api_base,
                client_id: args.client_id,
                scopes: args.scopes,
                allow_signup: args.allow_signup,
                trust_email: args.trust_email,
                trust_mfa: args.trust_mfa,
                roles_claim: args.roles_claim,
                role_map: args.role_map.into_iter().collect(),
                enabled: !args.disabled,
            };
            let provider = if secret.is_some() {
                let sealing = sealing_warden(warden, config).await?;
                let created = sealing.create_provider(settings, secret, None).await;
                sealing.flush_audit().await;
                created
            } else {
                warden.create_provider(settings, None, None).await
            }
            .map_err(|e| e.to_string())?;
            print(
                out,
                provider_json(&provider),
                format!("added provider {}", provider.id),
            );
        }
        ProviderCommand::List => {
            let providers = warden.list_providers().await.map_err(|e| e.to_string())?;
            let rows: Vec<_> = providers.iter().map(provider_json).collect();
            let text = providers
                .iter()
                .map(provider_text)
                .collect::<Vec<_>>()
                .join("\n");
            print(out, json!(rows), text);
        }
        ProviderCommand::Show { id } => {
            let provider = warden.provider(&id).await.map_err(|e| e.to_string())?;
            let text = format!(
                "{}\nclient_id: {}\nclient secret: {}\nscopes: {}",
                provider_text(&provider),
                provider.client_id,
                if provider.client_secret_sealed.is_some() {
                    "set"
                } else {
                    "none"
                },
                provider.scopes.join(" ")
            );
            print(out, provider_json(&provider), text);
        }
        ProviderCommand::Update(args) => {
            let current = warden.provider(&args.id).await.map_err(|e| e.to_string())?;
            let mut settings = ProviderSettings::of(&current)
                .ok_or_else(|| "the stored provider has an unknown kind".to_owned())?;
            if let Some(name) = args.name {
                settings.display_name = name;
            }
            if let Some(client_id) = args.client_id {
                settings.client_id = client_id;
            }
            for (field, value) in [
                (&mut settings.issuer, args.issuer),
                (
                    &mut settings.authorization_endpoint,
                    args.authorization_endpoint,
                ),
                (&mut settings.token_endpoint, args.token_endpoint),
                (&mut settings.userinfo_endpoint, args.userinfo_endpoint),
                (&mut settings.jwks_uri, args.jwks_uri),
                (&mut settings.api_base, args.api_base),
                (&mut settings.roles_claim, args.roles_claim),
            ] {
                if let Some(value) = optional(value) {
                    *field = value;
                }
            }
            if let Some(scopes) = args.scopes {
                settings.scopes = scopes;
            }
            settings.allow_signup = args.allow_signup.unwrap_or(settings.allow_signup);
            settings.trust_email = args.trust_email.unwrap_or(settings.trust_email);
            settings.trust_mfa = args.trust_mfa.unwrap_or(settings.trust_mfa);
            settings.enabled = args.enabled.unwrap_or(settings.enabled);
            if args.clear_role_map {
                settings.role_map = BTreeMap::new();
            } else if !args.role_map.is_empty() {
                settings.role_map = args.role_map.into_iter().collect();
            }
            let provider = match read_secret(&args.secret)? {
                Some(secret) => {
                    let sealing = sealing_warden(warden, config).await?;
                    let updated = sealing
                        .update_provider(&args.id, settings, SecretChange::Set(secret), None)
                        .await;
                    sealing.flush_audit().await;
                    updated
                }
                None => {
                    let change = if args.no_client_secret {
                        SecretChange::Remove
                    } else {
                        SecretChange::Keep
                    };
                    warden
                        .update_provider(&args.id, settings, change, None)
                        .await
                }
            }
            .map_err(|e| e.to_string())?;
            print(
                out,
                provider_json(&provider),
                format!("updated provider {}", provider.id),
            );
        }
        ProviderCommand::Remove { id } => {
            if !warden
                .remove_provider(&id, None)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(format!("no provider {id}"));
            }
            print(
                out,
                json!({"id": id, "removed": true}),
                format!("removed provider {id}"),
            );
        }
    }
    Ok(())
}

/// `warden apikey …`.
async fn api_key_command(
    warden: &crate::domain::Warden<crate::storage::AnyStorage>,
    command: ApiKeyCommand,
    out: bool,
) -> Result<(), String> {
    match command {
        ApiKeyCommand::Create {
            user,
            name,
            scopes,
            expires_in,
        } => {
            let owner = warden.user(&user).await.map_err(|e| e.to_string())?;
            let created = warden
                .create_api_key(
                    &owner,
                    crate::domain::NewApiKey {
                        name,
                        scopes,
                        expires_in,
                    },
                    None,
                )
                .await
                .map_err(|e| e.to_string())?;
            let record = &created.record;
            print(
                out,
                json!({
                    "id": record.id,
                    "key": created.key.as_str(),
                    "user": owner.username,
                    "name": record.name,
                    "scopes": record.scopes,
                    "expires_at": record.expires_at,
                }),
                format!(
                    "key: {}\nid: {}\n(the key is shown only now)",
                    created.key.as_str(),
                    record.id
                ),
            );
        }
        ApiKeyCommand::List { user } => {
            let keys = match user {
                Some(username) => {
                    let owner = warden.user(&username).await.map_err(|e| e.to_string())?;
                    warden.list_api_keys(&owner).await
                }
                None => warden.list_all_api_keys(1000).await,
            }
            .map_err(|e| e.to_string())?;
            let rows: Vec<_> = keys
                .iter()
                .map(|k| {
                    json!({
                        "id": k.id, "user_id": k.user_id, "name": k.name, "scopes": k.scopes,
                        "created_at": k.created_at, "expires_at": k.expires_at,
                        "last_used_at": k.last_used_at, "revoked_at": k.revoked_at,
                    })
                })
                .collect();
            let text = keys
                .iter()
                .map(|k| {
                    let state = if k.revoked_at.is_some() {
                        "revoked"
                    } else if k.expires_at.is_some_and(|e| e <= now()) {
                        "expired"
                    } else {
                        "active"
                    };
                    format!(
                        "{}\t{}\t{state}\t{}\t{}",
                        k.id,
                        k.user_id,
                        k.name,
                        k.scopes.join(" ")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(out, json!(rows), text);
        }
        ApiKeyCommand::Revoke { id } => {
            warden
                .revoke_api_key(crate::domain::KeyRevoker::Administrator(None), &id)
                .await
                .map_err(|e| e.to_string())?;
            print(
                out,
                json!({"id": id, "revoked": true}),
                format!("revoked {id}"),
            );
        }
    }
    Ok(())
}

/// `warden audit …`.
async fn audit_command(
    warden: &crate::domain::Warden<crate::storage::AnyStorage>,
    command: AuditCommand,
    out: bool,
) -> Result<(), String> {
    let AuditCommand::List {
        actor,
        event,
        limit,
    } = command;
    let events = warden
        .audit_events(crate::storage::AuditFilter {
            actor,
            event,
            since: None,
            limit: limit.max(1),
        })
        .await
        .map_err(|e| e.to_string())?;
    let rows: Vec<_> = events
        .iter()
        .map(|e| {
            json!({
                "id": e.id, "at": e.at, "event": e.event, "actor": e.actor,
                "client_id": e.client_id, "ip": e.ip, "outcome": e.outcome, "detail": e.detail,
            })
        })
        .collect();
    let text = events
        .iter()
        .map(|e| {
            format!(
                "{}\t{}\t{}\t{}\t{}",
                e.at,
                e.event,
                e.outcome,
                e.actor.as_deref().unwrap_or("-"),
                e.detail.as_deref().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    print(out, json!(rows), text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90m"), Ok(5400));
        assert_eq!(parse_duration("12h"), Ok(43_200));
        assert_eq!(parse_duration("30d"), Ok(2_592_000));
        assert_eq!(parse_duration("2w"), Ok(1_209_600));
        for bad in ["", "30", "d", "3x", "-1d", "1.5d", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
