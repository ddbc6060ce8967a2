//! Help, sources, and configuration checks.

use std::time::Duration;

use super::support::{default_write_key, percorso, Server};

fn run(args: &[&str]) -> std::process::Output {
    percorso().args(args).output().unwrap()
}

#[test]
fn every_subcommand_has_help() {
    let top = String::from_utf8(run(&["--help"]).stdout).unwrap();
    for command in [
        "serve", "import", "events", "generate", "sources", "config", "bench",
    ] {
        assert!(top.contains(command), "top-level help lacks {command}");
    }
    for args in [
        &["serve", "--help"][..],
        &["import", "--help"],
        &["events", "--help"],
        &["generate", "--help"],
        &["sources", "create", "--help"],
        &["sources", "list", "--help"],
        &["config", "check", "--help"],
        &["bench", "ingest", "--help"],
    ] {
        let output = run(args);
        assert!(output.status.success(), "{args:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(
            text.contains("Usage:") && text.lines().count() > 3,
            "{args:?}: {text}"
        );
    }
}

#[test]
fn sources_create_prints_the_write_key_last_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let output = percorso()
        .args(["sources", "create", "web", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let key = stdout.lines().last().unwrap().trim().to_owned();
    assert_eq!(key.len(), 32, "write key: {key}");
    let sources = std::fs::read_to_string(data.join("sources.json")).unwrap();
    assert!(sources.contains(&key));
    let again = percorso()
        .args(["sources", "create", "web", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let bad = percorso()
        .args(["sources", "create", "no spaces", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid source name"));
}

#[test]
fn config_check_reports_every_problem_with_its_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("percorso.toml");
    std::fs::write(
        &file,
        "colour = 1\n[server]\nlisten = \"nowhere\"\n[ingest]\ndedup_window = \"soon\"\n[log]\npartitions = 0\nshards = 3\n",
    )
    .unwrap();
    let output = percorso()
        .args(["config", "check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    let path = file.display().to_string();
    for expected in [
        format!("{path}:1: colour: unknown key"),
        format!("{path}:3: server.listen: 'nowhere' is not an address"),
        format!("{path}:5: ingest.dedup_window"),
        format!("{path}:7: log.partitions: must be from 1"),
        format!("{path}:8: log.shards: unknown key (expected partitions, segment_bytes)"),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing '{expected}' in: {stderr}"
        );
    }
    std::fs::write(
        &file,
        "data_dir = \"elsewhere\"\n[ingest]\ndedup_window = \"2h\"\n",
    )
    .unwrap();
    let output = percorso()
        .args(["config", "check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("elsewhere") && stdout.contains("2h"),
        "{stdout}"
    );
}

#[test]
fn serve_stops_cleanly_on_sigterm_and_keeps_its_sources() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let key = default_write_key(&data);
    assert!(
        server.terminate(Duration::from_secs(10)),
        "serve exits 0 on SIGTERM"
    );
    let _again = Server::start(&data);
    assert_eq!(
        default_write_key(&data),
        key,
        "the same source and key after a restart"
    );
}

#[test]
fn without_a_configured_token_serve_generates_one_readable_only_by_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_with_admin_token(&data, None);
    let token_file = data.join("admin-token");
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert!(token.len() >= 32);
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let rt = super::support::runtime();
    let status = |token: String| {
        rt.block_on(async {
            reqwest::Client::new()
                .get(server.url("/api/v1/sources"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    assert_eq!(status(token.clone()), 200);
    assert_eq!(status(format!("{token}x")), 401);
    drop(server);
    let _again = Server::start_with_admin_token(&data, None);
    assert_eq!(
        std::fs::read_to_string(&token_file).unwrap(),
        token,
        "kept across restarts"
    );
}
