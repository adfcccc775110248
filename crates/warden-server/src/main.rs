//! `warden`: the server and its administration commands.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    warden_server::cli::run().await
}
