//! The `warden` binary itself: commands run as a person or a script would, on a temporary
//! SQLite database.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// A scratch directory with a database and a master key file.
struct Cli {
    dir: PathBuf,
}

impl Cli {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("warden-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    /// Runs `warden ARGS` with `stdin`; its stdout. Panics (with stderr) if it fails.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> String {
        let (ok, stdout, stderr) = self.try_run(args, stdin);
        assert!(ok, "{args:?}: {stderr}");
        stdout
    }

    fn database_url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.dir.join("warden.db").display())
    }

    fn try_run(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        self.try_run_with(args, stdin, &[])
    }

    /// [`try_run`](Self::try_run) with more environment variables (overriding the defaults).
    fn try_run_with(
        &self,
        args: &[&str],
        stdin: Option<&str>,
        env: &[(&str, &str)],
    ) -> (bool, String, String) {
        let database_url = self.database_url();
        let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(args)
            .env_clear()
            .env("WARDEN_DATABASE_URL", &database_url)
            .env("WARDEN_MASTER_KEY_FILE", self.dir.join("warden.key"))
            .env("WARDEN_LOG", "warn")
            .envs(env.iter().copied())
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        let output = child.wait_with_output().unwrap();
        (
            output.status.success(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `warden role put`, `warden user create` (password on stdin) and `warden apikey create
/// --json` from the built binary on a temporary SQLite database; the printed key then
/// authenticates, and `apikey list`, `audit list` and `apikey revoke` work.
#[tokio::test]
async fn cli_creates_an_api_key() {
    let cli = Cli::new();
    let warden = |args: &[&str], stdin: Option<&str>| cli.run(args, stdin);

    warden(
        &[
            "--json", "role", "put", "ci", "--scope", "me", "--scope", "deploy",
        ],
        None,
    );
    let password = "a long enough password\n";
    let created: Value = serde_json::from_str(&warden(
        &[
            "--json",
            "user",
            "create",
            "robot",
            "--role",
            "ci",
            "--password-stdin",
        ],
        Some(password),
    ))
    .unwrap();
    assert_eq!(created["username"], "robot");

    let output = warden(
        &[
            "--json",
            "apikey",
            "create",
            "--user",
            "robot",
            "--name",
            "deploys",
            "--scope",
            "deploy",
            "--expires-in",
            "30d",
        ],
        None,
    );
    let key: Value = serde_json::from_str(&output).unwrap();
    let plaintext = key["key"].as_str().unwrap().to_owned();
    let id = key["id"].as_str().unwrap().to_owned();
    assert!(plaintext.starts_with("wdn_"));
    assert_eq!(key["scopes"], json!(["deploy"]));
    assert_eq!(key["user"], "robot");
    let expires_at = key["expires_at"].as_i64().unwrap();
    assert!(expires_at > warden_server::domain::now() + 29 * 24 * 3600);

    // Beyond the role: refused, with a message and a failure exit code.
    let (ok, _, stderr) = cli.try_run(
        &["apikey", "create", "--user", "robot", "--scope", "admin"],
        None,
    );
    assert!(!ok);
    assert!(stderr.contains("invalid scope"), "{stderr}");

    // The key works against the same database.
    let config = warden_server::config::Config {
        database_url: cli.database_url(),
        master_key_file: cli.dir.join("warden.key"),
        ..Default::default()
    };
    let domain = warden_server::server::open(&config).await.unwrap();
    let principal = domain.authenticate_api_key(&plaintext).await.unwrap();
    assert_eq!(principal.user.username, "robot");
    assert_eq!(principal.key_id, id);
    assert!(principal.scopes.contains("deploy"));

    let listed = warden(&["--json", "apikey", "list", "--user", "robot"], None);
    assert!(!listed.contains(&plaintext));
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(listed[0]["last_used_at"].is_i64());

    let audit = warden(
        &["--json", "audit", "list", "--event", "apikey.created"],
        None,
    );
    assert!(
        !audit.contains(&plaintext),
        "the audit log never holds a key"
    );
    let audit: Value = serde_json::from_str(&audit).unwrap();
    assert_eq!(audit.as_array().unwrap().len(), 1);
    assert!(audit[0]["detail"].as_str().unwrap().contains(&id));

    warden(&["--json", "apikey", "revoke", &id], None);
    assert!(domain.authenticate_api_key(&plaintext).await.is_err());
    let text = warden(&["audit", "list", "--event", "apikey.revoked"], None);
    assert!(text.contains("apikey.revoked"));

    drop(domain);
}

#[test]
fn cli_imports_legacy_hashes_and_refuses_bad_settings() {
    let cli = Cli::new();
    let fixtures: Value = serde_json::from_str(include_str!(
        "../../../warden/tests/fixtures/python_password_hashes.json"
    ))
    .unwrap();
    let bcrypt = fixtures["fixtures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["hash"].as_str().unwrap().starts_with("$2b$"))
        .unwrap();
    let csv = format!(
        "username,password_hash\nlegacy,{}\nbroken,plaintext\n",
        bcrypt["hash"].as_str().unwrap()
    );
    std::fs::write(cli.dir.join("users.csv"), csv).unwrap();
    let report: Value =
        serde_json::from_str(&cli.run(&["--json", "user", "import", "users.csv"], None)).unwrap();
    assert_eq!(report["imported"], 1);
    assert_eq!(report["rejected"][0][0], "broken");
    assert!(
        !report.to_string().contains("$2b$"),
        "hashes are never echoed"
    );
    let again: Value =
        serde_json::from_str(&cli.run(&["--json", "user", "import", "users.csv"], None)).unwrap();
    assert_eq!(
        again["skipped"][0], "legacy",
        "re-running an import is harmless"
    );
    let users: Value = serde_json::from_str(&cli.run(&["--json", "user", "list"], None)).unwrap();
    assert_eq!(users[0]["username"], "legacy");

    // A bad setting stops the command with a message naming it.
    let output = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["user", "list"])
        .env_clear()
        .env("WARDEN_DATABASE_URL", cli.database_url())
        .env("WARDEN_ACCESS_TOKEN_TTL", "soon")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("access_token_ttl") || stderr.contains("ACCESS_TOKEN_TTL"),
        "{stderr}"
    );
}

/// Commands that sign nothing load no signing key and need no master key; no command ever
/// makes a master key while the database holds keys encrypted under another one.
#[test]
fn cli_needs_the_master_key_only_to_sign() {
    let cli = Cli::new();
    let key_file = cli.dir.join("warden.key");
    // An operator keeps the master key in the environment; the keys are made under it.
    let master = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA";
    let with_master = [("WARDEN_MASTER_KEY", master)];
    let (ok, _, stderr) = cli.try_run_with(&["keys", "rotate"], None, &with_master);
    assert!(ok, "{stderr}");
    assert!(!key_file.exists());

    // Without it, a command that signs nothing works, and writes no key file.
    let (ok, _, stderr) = cli.try_run(
        &["user", "create", "keyless", "--password-stdin"],
        Some("a long enough password"),
    );
    assert!(ok, "{stderr}");
    let (ok, listed, stderr) = cli.try_run(&["--json", "user", "list"], None);
    assert!(ok && listed.contains("keyless"), "{stderr}");
    assert!(!key_file.exists(), "no master key was invented");

    // A command that needs the keys refuses, saying which key it expects, and invents none.
    let (ok, _, stderr) = cli.try_run(&["keys", "rotate"], None);
    assert!(!ok);
    assert!(stderr.contains("WARDEN_MASTER_KEY"), "{stderr}");
    assert!(!key_file.exists(), "no master key was invented");

    // With the key, it works again.
    let (ok, _, stderr) = cli.try_run_with(&["keys", "rotate"], None, &with_master);
    assert!(ok, "{stderr}");
}

/// An explicit SQLite URL to a file that does not exist yet is created like the default;
/// a database that cannot be opened is refused with the reason.
#[test]
fn cli_creates_an_explicit_sqlite_file_and_names_open_errors() {
    let cli = Cli::new();
    let run = |url: &str| cli.try_run_with(&["migrate"], None, &[("WARDEN_DATABASE_URL", url)]);

    let file = cli.dir.join("data").join("warden.db");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let (ok, _, stderr) = run(&format!("sqlite://{}", file.display()));
    assert!(ok, "{stderr}");
    assert!(file.exists());

    let missing = cli.dir.join("nowhere").join("warden.db");
    let (ok, _, stderr) = run(&format!("sqlite://{}", missing.display()));
    assert!(!ok);
    assert!(
        stderr.contains("does not exist") && stderr.contains("nowhere"),
        "{stderr}"
    );

    let garbage = cli.dir.join("notes.txt");
    std::fs::write(
        &garbage,
        "these are not the tables you are looking for\n".repeat(200),
    )
    .unwrap();
    let (ok, _, stderr) = run(&format!("sqlite://{}", garbage.display()));
    assert!(!ok);
    assert!(stderr.contains("not a SQLite database"), "{stderr}");
}

/// Logs written to a pipe (or a file) carry no ANSI colour codes.
#[test]
fn cli_logs_to_a_pipe_are_plain_text() {
    let cli = Cli::new();
    let (ok, _, stderr) = cli.try_run_with(&["user", "list"], None, &[("WARDEN_LOG", "debug")]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("DEBUG"),
        "debug logs were written: {stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no escape codes: {stderr:?}");
}

/// `warden provider add/list/show/update/remove --json`: the client secret comes from
/// standard input or a variable, never an argument, and never comes out; `warden user
/// identities/unlink/update`.
#[test]
fn cli_manages_upstream_providers_without_showing_secrets() {
    let cli = Cli::new();
    let secret = "cli-upstream-secret-0123456789";
    cli.run(&["role", "put", "staff", "--scope", "me"], None);
    let added: Value = serde_json::from_str(&cli.run(
        &[
            "--json",
            "provider",
            "add",
            "corp",
            "--kind",
            "oidc",
            "--name",
            "Corporate SSO",
            "--issuer",
            "https://sso.example.com",
            "--client-id",
            "warden",
            "--client-secret-stdin",
            "--scopes",
            "openid,email",
            "--allow-signup",
            "--roles-claim",
            "groups",
            "--role-map",
            "staff=staff",
        ],
        Some(&format!("{secret}\n")),
    ))
    .unwrap();
    assert_eq!(added["id"], "corp");
    assert_eq!(added["client_secret_set"], true);
    assert_eq!(added["scopes"], json!(["openid", "email"]));
    assert_eq!(added["role_map"], json!({"staff": "staff"}));
    assert!(!added.to_string().contains(secret));

    let (ok, stdout, stderr) = cli.try_run_with(
        &[
            "--json",
            "provider",
            "add",
            "gh",
            "--kind",
            "github",
            "--name",
            "GitHub",
            "--client-id",
            "Iv1.x",
            "--client-secret-env",
            "GH_SECRET",
        ],
        None,
        &[("GH_SECRET", "gh-secret-value")],
    );
    assert!(ok, "{stderr}");
    assert!(!stdout.contains("gh-secret-value"));

    // Refused: a taken id, bad settings, a secret on the command line.
    let (ok, _, stderr) = cli.try_run(
        &[
            "provider",
            "add",
            "corp",
            "--kind",
            "github",
            "--name",
            "x",
            "--client-id",
            "x",
        ],
        None,
    );
    assert!(!ok && stderr.contains("already exists"), "{stderr}");
    let (ok, _, stderr) = cli.try_run(
        &[
            "provider",
            "add",
            "plain",
            "--kind",
            "oidc",
            "--name",
            "x",
            "--client-id",
            "x",
            "--issuer",
            "http://sso.example.com",
        ],
        None,
    );
    assert!(!ok && stderr.contains("issuer"), "{stderr}");
    let (ok, _, stderr) = cli.try_run(
        &[
            "provider",
            "add",
            "x",
            "--kind",
            "github",
            "--name",
            "x",
            "--client-id",
            "x",
            "--client-secret",
            "oops",
        ],
        None,
    );
    assert!(!ok, "{stderr}");

    let listed = cli.run(&["--json", "provider", "list"], None);
    assert!(!listed.contains(secret) && !listed.contains("gh-secret-value"));
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed[0]["id"], "corp");
    assert_eq!(listed[1]["id"], "gh");
    let shown: Value =
        serde_json::from_str(&cli.run(&["--json", "provider", "show", "corp"], None)).unwrap();
    assert_eq!(shown["issuer"], "https://sso.example.com");
    let text = cli.run(&["provider", "show", "corp"], None);
    assert!(
        text.contains("client secret: set") && !text.contains(secret),
        "{text}"
    );

    let updated: Value = serde_json::from_str(&cli.run(
        &[
            "--json",
            "provider",
            "update",
            "corp",
            "--name",
            "Corp",
            "--enabled",
            "false",
            "--no-client-secret",
        ],
        None,
    ))
    .unwrap();
    assert_eq!(updated["display_name"], "Corp");
    assert_eq!(updated["enabled"], false);
    assert_eq!(updated["client_secret_set"], false);
    assert_eq!(updated["allow_signup"], true, "what is not given stays");

    // A user's identities (linked through the login flow later; none yet), the flag.
    cli.run(
        &[
            "user",
            "create",
            "ann",
            "--email",
            "ann@example.com",
            "--password-stdin",
        ],
        Some("a long enough password"),
    );
    let identities = cli.run(&["--json", "user", "identities", "ann"], None);
    assert_eq!(identities.trim(), "[]");
    let (ok, _, stderr) = cli.try_run(&["user", "unlink", "ann", "corp"], None);
    assert!(!ok && stderr.contains("not found"), "{stderr}");
    let user: Value = serde_json::from_str(&cli.run(
        &[
            "--json",
            "user",
            "update",
            "ann",
            "--email-verified",
            "true",
        ],
        None,
    ))
    .unwrap();
    assert_eq!(user["email_verified"], true);

    let removed: Value =
        serde_json::from_str(&cli.run(&["--json", "provider", "remove", "corp"], None)).unwrap();
    assert_eq!(removed["removed"], true);
    let (ok, _, _) = cli.try_run(&["provider", "remove", "corp"], None);
    assert!(!ok);
    let (ok, _, stderr) = cli.try_run(&["provider", "show", "corp"], None);
    assert!(!ok && stderr.contains("not found"), "{stderr}");

    let audit = cli.run(&["--json", "audit", "list"], None);
    assert!(!audit.contains(secret) && !audit.contains("gh-secret-value"));
}

/// `warden serve` with `[[upstream_providers]]` in its TOML file, started twice: the
/// provider is created once and updated in place, its secret from the named variable.
#[test]
fn serve_applies_configured_upstream_providers_idempotently() {
    use std::io::{BufRead, BufReader};
    let cli = Cli::new();
    let config = cli.dir.join("warden.toml");
    std::fs::write(
        &config,
        r#"
bind = "127.0.0.1:0"

[[upstream_providers]]
id = "corp"
display_name = "Corporate SSO"
kind = "oidc"
issuer = "https://sso.example.com"
client_id = "warden"
client_secret_env = "CORP_SECRET"
role_map = {}
"#,
    )
    .unwrap();
    let config_arg = config.display().to_string();
    let serve = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(["--config", &config_arg, "serve"])
            .env_clear()
            .env("WARDEN_DATABASE_URL", cli.database_url())
            .env("WARDEN_MASTER_KEY_FILE", cli.dir.join("warden.key"))
            .env("WARDEN_LOG", "warn")
            .env("CORP_SECRET", "corp-secret-value")
            .current_dir(&cli.dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let started = lines
            .next()
            .and_then(Result::ok)
            .is_some_and(|line| line.starts_with("listening on"));
        child.kill().unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(started, "{}", String::from_utf8_lossy(&output.stderr));
    };
    serve();
    let first: Value =
        serde_json::from_str(&cli.run(&["--json", "provider", "list"], None)).unwrap();
    serve();
    let second: Value =
        serde_json::from_str(&cli.run(&["--json", "provider", "list"], None)).unwrap();
    assert_eq!(second.as_array().unwrap().len(), 1);
    assert_eq!(second[0]["id"], "corp");
    assert_eq!(second[0]["client_secret_set"], true);
    assert_eq!(second[0]["created_at"], first[0]["created_at"]);
    assert!(!second.to_string().contains("corp-secret-value"));

    // A bad table stops start-up, naming the setting.
    std::fs::write(
        &config,
        "[[upstream_providers]]\nid = \"Bad Id\"\ndisplay_name = \"x\"\nkind = \"github\"\nclient_id = \"x\"\n",
    )
    .unwrap();
    let (ok, _, stderr) = cli.try_run(&["--config", &config_arg, "provider", "list"], None);
    assert!(!ok && stderr.contains("upstream_providers"), "{stderr}");
}
