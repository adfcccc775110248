//! The `warden` command line: the server and its administration, sharing one configuration.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::config::Config;
use crate::domain::{NewAccount, NewClient, Warden, now};
use crate::storage::{AnyStorage, Role, Storage};

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
                .map(|u| json!({"id": u.id, "username": u.username, "email": u.email, "disabled": u.disabled, "roles": u.roles}))
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
