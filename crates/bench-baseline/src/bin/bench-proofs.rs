//! `bench-proofs`: fresh DPoP proofs for the load on `bench-baseline`'s DPoP routes (issue 15).
//!
//! ```sh
//! printf '%s' "$DPOP_ES256_KEY" | bench-proofs --alg ES256 --htu "$URL/dpop-es256" \
//!     --token "$DPOP_ES256_TOKEN" --count 100000 --out "$WORK/proofs-es256" --files 2
//! ```
//!
//! Reads the proof key (PKCS#8 PEM, as `bench-baseline` wrote it) on standard input and writes
//! `--count` proofs for `GET --htu` with the token's hash (`ath`), one per line, split evenly
//! over `--files` files `OUT.0`, `OUT.1`, … (one per wrk thread, so no proof is sent twice).
//! They are made on every core. Every proof has a fresh `jti` and `iat` = now: the server
//! accepts it once, within 300 s. Prints `COUNT MILLISECONDS`: how long making and writing took.

use std::io::{BufWriter, Read, Write};
use std::time::Instant;

use axum::http::Method;
use warden::dpop::ProofKey;
use warden::jwt::{Algorithm, SigningKey};

fn main() {
    match run() {
        Ok(line) => println!("{line}"),
        Err(error) => {
            eprintln!("bench-proofs: {error}");
            std::process::exit(1);
        }
    }
}

fn run() -> Result<String, String> {
    let mut alg = None;
    let mut htu = None;
    let mut token = None;
    let mut count: usize = 0;
    let mut out = None;
    let mut files: usize = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--alg" => {
                let name = value()?;
                alg = Some(Algorithm::from_name(&name).ok_or(format!("unknown alg {name}"))?);
            }
            "--htu" => htu = Some(value()?),
            "--token" => token = Some(value()?),
            "--count" => count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--out" => out = Some(value()?),
            "--files" => files = value()?.parse().map_err(|e| format!("--files: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let alg = alg.ok_or("--alg is required")?;
    let htu = htu.ok_or("--htu is required")?;
    let token = token.ok_or("--token is required")?;
    let out = out.ok_or("--out is required")?;
    let files = files.max(1);
    let mut pem = String::new();
    std::io::stdin()
        .read_to_string(&mut pem)
        .map_err(|e| format!("reading the key: {e}"))?;
    let signing = SigningKey::from_pem(alg, &pem).map_err(|e| format!("the key: {e}"))?;
    let key = ProofKey::from_signing_key(signing).map_err(|e| format!("the key: {e}"))?;

    let start = Instant::now();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(count / 1000 + 1);
    let proofs = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                // The first `count % threads` threads make one more.
                let n = count / threads + usize::from(i < count % threads);
                let (key, htu, token) = (&key, &htu, &token);
                scope.spawn(move || -> Result<Vec<String>, String> {
                    (0..n)
                        .map(|_| {
                            key.proof(&Method::GET, htu, Some(token), None)
                                .map_err(|e| format!("a proof: {e}"))
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().try_fold(Vec::new(), |mut all, handle| {
            all.extend(
                handle
                    .join()
                    .map_err(|_| "a thread panicked".to_owned())??,
            );
            Ok::<_, String>(all)
        })
    })?;
    // File i takes the i-th of `files` contiguous slices.
    for i in 0..files {
        let path = format!("{out}.{i}");
        let file = std::fs::File::create(&path).map_err(|e| format!("{path}: {e}"))?;
        let mut file = BufWriter::new(file);
        for proof in &proofs[i * count / files..(i + 1) * count / files] {
            writeln!(file, "{proof}").map_err(|e| format!("{path}: {e}"))?;
        }
        file.flush().map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(format!("{count} {}", start.elapsed().as_millis()))
}
