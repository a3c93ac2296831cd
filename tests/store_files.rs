//! `serve` refuses store files it must not use, and leaves them as they were: an empty file
//! (a lost store must not be re-seeded), another program's database, a file that is no
//! database, and one it cannot write.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::*;

/// Runs `serve` on `db` and returns what it said; the server must exit by itself.
fn serve(db: &Path) -> Output {
    Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .output()
        .unwrap()
}

fn assert_refused(db: &Path, reason: &str) {
    let before = std::fs::read(db).unwrap();
    let output = serve(db);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "serve must refuse {}: {stderr}",
        db.display()
    );
    assert!(stderr.contains("is not usable"), "{stderr}");
    assert!(stderr.contains(reason), "{stderr}");
    assert_eq!(
        std::fs::read(db).unwrap(),
        before,
        "the file is left as it was"
    );
}

#[test]
fn an_empty_store_file_is_refused_not_reseeded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    std::fs::write(&db, b"").unwrap();
    // A file a minute old: not one another process is creating right now.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(&db)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert_refused(&db, "empty (0 bytes)");
}

#[test]
fn another_programs_database_and_a_non_database_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign.db");
    let made = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE invoices (n)'); c.commit()",
        ])
        .arg(&foreign)
        .status()
        .unwrap();
    assert!(made.success());
    assert_refused(&foreign, "another program's SQLite database");

    let text = dir.path().join("notes.db");
    std::fs::write(&text, "this is a text file, not a database\n".repeat(200)).unwrap();
    assert_refused(&text, "not an SQLite database");
}

#[test]
fn a_store_that_cannot_be_written_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    drop(skillsmap::store::Store::open(&db.clone().into()).expect("a new store"));
    // Root ignores permission bits: the immutable attribute stops even root's writes.
    let immutable = Command::new("chattr").arg("+i").arg(&db).status();
    if !immutable.is_ok_and(|s| s.success()) {
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
        if still_writable(&db) {
            eprintln!(
                "neither chattr +i nor file modes make the store unwritable here: not checked"
            );
            return;
        }
    }
    let output = serve(&db);
    let _ = Command::new("chattr").arg("-i").arg(&db).status();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("cannot be written"), "{stderr}");
}

/// True when this process can still open `path` for writing (root, or a file system that
/// ignores the attribute).
fn still_writable(path: &Path) -> bool {
    std::fs::OpenOptions::new().append(true).open(path).is_ok()
}

/// A tmpfs of `megabytes` mounted at a new folder, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the file system of `path` with a file of zeros until no byte more fits.
fn fill(path: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 64 * 1024];
    while file.write_all(&block).is_ok() {}
    let byte = [0u8; 1];
    while file.write_all(&byte).is_ok() {}
    let _ = file.sync_all();
}

const CURATOR: &str = "erin-token-0123456789abcdef";

fn record(i: usize) -> serde_json::Value {
    serde_json::json!({
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [16.37, 48.21]},
        "properties": {
            "name": format!("Disk test course {i}"),
            "description": "x".repeat(2000),
            "organisation": "Test Org", "url": "https://example.org/course",
            "country": "AT", "city": "Vienna", "skill_areas": ["cloud"],
            "target_groups": ["smes"], "kind": "training", "languages": ["de"]
        }
    })
}

/// A full disk: writes answer 507, `/healthz` says degraded with the reason, reads go on;
/// once space is freed the service says ok again by itself and writes succeed, no restart.
#[tokio::test]
async fn a_full_disk_answers_507_and_recovers_without_a_restart() {
    let Some(disk) = SmallDisk::mount(48) else {
        eprintln!("no tmpfs could be mounted here (not root?): the disk-full case is not checked");
        return;
    };
    let db = disk.path().join("store.db");
    let db = db.to_str().unwrap();
    let tokens = format!("erin:{CURATOR}");
    let server = processes::Replica::spawn(db, &[], &[("SKILLSMAP_CURATOR_TOKENS", &tokens)]);
    server.ready().await;
    let items = format!("{}/collections/initiatives/items", server.base);
    let filler = disk.path().join("filler");
    fill(&filler);

    let mut full = None;
    for i in 0..400 {
        let response = client()
            .post(&items)
            .bearer_auth(CURATOR)
            .header("content-type", "application/geo+json")
            .body(record(i).to_string())
            .send()
            .await
            .unwrap();
        if response.status() != 201 {
            full = Some((response.status(), response.text().await.unwrap()));
            break;
        }
    }
    let (status, body) = full.expect("the writes fill the disk");
    assert_eq!(status, 507, "{body}");
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["status"], 507);

    let (_, _, health) = get_json(&format!("{}/healthz", server.base)).await;
    assert_eq!(health["status"], "degraded", "{health}");
    assert!(
        health["store"].as_str().unwrap().contains("space"),
        "{health}"
    );
    let (status, _, _) = get_json(&format!("{items}?limit=5")).await;
    assert_eq!(status, 200, "reads go on");

    std::fs::remove_file(&filler).unwrap();
    let healthy = processes::eventually(std::time::Duration::from_secs(20), || async {
        get_json(&format!("{}/healthz", server.base)).await.2["status"] == "ok"
    })
    .await;
    assert!(healthy, "healthy again once space is freed");
    let response = client()
        .post(&items)
        .bearer_auth(CURATOR)
        .header("content-type", "application/geo+json")
        .body(record(1_000).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}
