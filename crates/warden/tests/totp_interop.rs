//! `warden::totp` against two independent implementations: `oathtool` (OATH Toolkit, Debian
//! package `oathtool`) and Python's `pyotp` (PyPI `pyotp`).
//!
//! The Python interpreter is `$WARDEN_TEST_PYTHON` (default `python3`); it must import
//! `pyotp`. When a tool is missing, a test fails under `CI=true` and otherwise prints a skip
//! notice and passes.

use std::process::Command;

use warden::totp::Totp;

/// Fixed times: RFC 6238 Appendix B's, a step boundary, and one far in the future.
const TIMES: [u64; 7] = [
    59,
    1_111_111_109,
    1_111_111_111,
    1_234_567_890,
    1_700_000_000,
    1_700_000_010,
    20_000_000_000,
];

/// Whether the tools must be there.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Fails in CI, prints a notice elsewhere.
fn missing(tool: &str, why: &str) {
    assert!(
        !in_ci(),
        "{tool} is required when CI=true ({why}); see crates/warden/tests/totp_interop.rs"
    );
    eprintln!("skipping: {tool} unavailable ({why})");
}

/// Runs a command; its trimmed stdout, or `None` (after [`missing`]) when it cannot run.
fn run(tool: &str, command: &mut Command) -> Option<String> {
    match command.output() {
        Ok(output) if output.status.success() => {
            Some(String::from_utf8(output.stdout).unwrap().trim().to_owned())
        }
        Ok(output) => {
            missing(tool, &String::from_utf8_lossy(&output.stderr));
            None
        }
        Err(error) => {
            missing(tool, &error.to_string());
            None
        }
    }
}

fn python() -> String {
    std::env::var("WARDEN_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Runs `script` with pyotp imported; arguments in `sys.argv[1:]`.
fn pyotp(script: &str, args: &[String]) -> Option<String> {
    let python = python();
    run(
        &format!("pyotp ({python})"),
        Command::new(&python)
            .arg("-c")
            .arg(format!("import sys, pyotp\n{script}"))
            .args(args),
    )
}

fn random_totp() -> Totp {
    Totp::from_secret(&rand::random::<[u8; 20]>(), "Warden", "alice@example.com").unwrap()
}

#[test]
fn codes_match_oathtool() {
    for totp in [
        random_totp(),
        // 16 bytes: base32 without padding (26 characters).
        Totp::from_secret(&rand::random::<[u8; 16]>(), "Warden", "bob").unwrap(),
    ] {
        for time in TIMES {
            let Some(code) = run(
                "oathtool",
                Command::new("oathtool")
                    .arg("--totp")
                    .arg("-b")
                    .arg(format!("--now=@{time}"))
                    .arg(totp.secret_base32()),
            ) else {
                return;
            };
            assert_eq!(totp.code_at(time), code, "t={time}");
            assert_eq!(totp.verify(&code, time + 30), Some(Totp::step_at(time)));
        }
    }
}

#[test]
fn codes_match_pyotp() {
    let totp = random_totp();
    let mut args = vec![totp.secret_base32()];
    args.extend(TIMES.iter().map(u64::to_string));
    let Some(codes) = pyotp(
        "t = pyotp.TOTP(sys.argv[1])\nprint(' '.join(t.at(int(x)) for x in sys.argv[2:]))",
        &args,
    ) else {
        return;
    };
    let ours: Vec<String> = TIMES.iter().map(|&t| totp.code_at(t)).collect();
    assert_eq!(codes.split(' ').collect::<Vec<_>>(), ours);
}

#[test]
fn uri_matches_pyotp() {
    // pyotp leaves out the default algorithm, digits and period; warden states them.
    let defaults = "&algorithm=SHA1&digits=6&period=30";
    for (issuer, account) in [
        ("Warden", "alice@example.com"),
        ("My Co & 100%", "a b~c+é?#="),
        ("Ünïcödé", "用户"),
    ] {
        let totp = Totp::from_secret(&rand::random::<[u8; 20]>(), issuer, account).unwrap();
        let Some(expected) = pyotp(
            "print(pyotp.TOTP(sys.argv[1]).provisioning_uri(name=sys.argv[2], issuer_name=sys.argv[3]))",
            &[totp.secret_base32(), account.to_owned(), issuer.to_owned()],
        ) else {
            return;
        };
        assert_eq!(totp.uri(), format!("{expected}{defaults}"));

        // And pyotp reads ours back: same secret, names and parameters.
        let Some(parsed) = pyotp(
            "t = pyotp.parse_uri(sys.argv[1])\n\
             print('|'.join([t.secret, t.issuer, t.name, str(t.digits), str(t.interval), t.digest().name]))",
            &[totp.uri()],
        ) else {
            return;
        };
        assert_eq!(
            parsed,
            format!("{}|{issuer}|{account}|6|30|sha1", totp.secret_base32())
        );
    }
}
