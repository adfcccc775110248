//! `warden`: the server and its administration commands.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // AWS-LC seeds its random generator once per process, mixing the OS source with CPU
    // jitter entropy, which costs tens of milliseconds of CPU. Starting it now on a thread of
    // its own overlaps it with opening the database and loading the keys, which need no
    // randomness; whoever needs randomness first waits for the same one-time seeding.
    std::thread::spawn(|| {
        let _ = aws_lc_rs::rand::fill(&mut [0u8; 1]);
    });
    warden_server::cli::run().await
}
