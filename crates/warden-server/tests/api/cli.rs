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
        let database_url = self.database_url();
        let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(args)
            .env_clear()
            .env("WARDEN_DATABASE_URL", &database_url)
            .env("WARDEN_MASTER_KEY_FILE", self.dir.join("warden.key"))
            .env("WARDEN_LOG", "warn")
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
