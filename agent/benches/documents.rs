//! Signed documents, measured on the real `mohur` binary as a citizen runs it: `mohur
//! sign` (PAdES B-T: a simulated AzeDIT card behind the real pcscd, the scripted
//! pinentry typing the PIN, the local TSA of the tests) and `mohur verify`, on a 1 MB PDF
//! and two of 50 MB (one big stream; a stream per page, as a scan): wall time and peak RSS of the process, side by side with pyHanko on the
//! same file (`pyhanko sign addsig pemder` with the holder's key file, so pyHanko's
//! figure has no card in it: a lower bound for it; and `pyhanko sign validate`).
//!
//! The aim: faster than pyHanko, and peak RSS not growing with the file beyond one copy
//! of it. Prints numbers; never fails on speed. Needs our pcscd (scripts/pcscd.sh start)
//! and pyHanko (scripts/python-deps.sh).

use mohur_card_sim::Profile;
use mohur_tests::tsa::{Behaviour, LocalTsa};
use mohur_tests::{card_state, pki, PluggedCard};
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../tests/common/mod.rs"]
mod common;
use common::{scripted_pinentry, temp_dir};

/// The PDFs: (label, file name, bytes). The 50 MB one once with its data in one stream,
/// and once as a scan would be, a stream per page: lopdf copies a stream out of the file
/// while parsing it, so the largest stream is held twice for a moment.
fn documents() -> [(&'static str, &'static str, Vec<u8>); 3] {
    use mohur_tests::pdf::{document_of_pages_and_size, document_of_size};
    [
        ("1 MB", "doc-1mb", document_of_size(1 << 20)),
        ("50 MB, 1 stream", "doc-50mb", document_of_size(50 << 20)),
        ("50 MB, 50 pages", "doc-50mb-50p", document_of_pages_and_size(50, 50 << 20)),
    ]
}
const RUNS: usize = 3;

/// Runs `cmd` under a Python parent that reports the child's wall time and peak RSS
/// (`getrusage(RUSAGE_CHILDREN).ru_maxrss`, KiB on Linux): (seconds, MB).
fn measure(program: &Path, args: &[&str], envs: &[(&str, &Path)]) -> (f64, f64) {
    const WRAPPER: &str = "import resource, subprocess, sys, time\n\
        t = time.monotonic()\n\
        r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n\
        d = time.monotonic() - t\n\
        sys.stderr.write(r.stderr.decode(errors='replace')[-2000:] if r.returncode else '')\n\
        print(r.returncode, d, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n";
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(WRAPPER).arg(program).args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run python3");
    let line = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields.first(), Some(&"0"), "{} failed: {}", program.display(), String::from_utf8_lossy(&out.stderr));
    (fields[1].parse().unwrap(), fields[2].parse::<f64>().unwrap() / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    mohur_tests::require_pcscd();
    let dir = temp_dir("bench-documents");
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let reader = card.reader.name.clone();
    let tsa = LocalTsa::start(&dir.join("tsa"), Behaviour::Grant);
    let mohur = PathBuf::from(env!("CARGO_BIN_EXE_mohur"));
    let pyhanko = mohur_tests::pyhanko();
    let holder = pki().dir.join("azedit");
    let chain = pki().chain_pem.to_str().unwrap().to_owned();
    let bundle = pki().bundle_pem.to_str().unwrap().to_owned();
    let root = pki().root_cert_pem.to_str().unwrap().to_owned();
    let queue = dir.join("queue");
    let log = dir.join("pinentry.log");
    let pinentry = scripted_pinentry();
    let envs: [(&str, &Path); 5] = [
        ("HOME", &dir),
        ("MOHUR_PINENTRY", &pinentry),
        ("SCRIPTED_PINENTRY_QUEUE", &queue),
        ("SCRIPTED_PINENTRY_LOG", &log),
        ("MOHUR_LANG", Path::new("en")),
    ];

    println!("documents: PAdES B-T sign and verify, medians of {RUNS} runs (wall time, peak RSS)");
    println!(
        "{:>16}  {:>22}  {:>22}  {:>22}  {:>22}",
        "PDF", "mohur sign", "pyHanko sign (key file)", "mohur verify", "pyHanko validate"
    );
    for (label, name, bytes) in documents() {
        let input = dir.join(format!("{name}.pdf"));
        std::fs::write(&input, bytes).unwrap();
        let signed = dir.join(format!("{name}.signed.pdf"));
        let by_pyhanko = dir.join(format!("{name}.pyhanko.pdf"));
        // Wall time and peak RSS of: mohur sign, pyHanko sign, mohur verify, pyHanko validate.
        let mut cols: [Vec<f64>; 8] = Default::default();
        for _ in 0..RUNS {
            let _ = std::fs::remove_file(&signed);
            std::fs::write(&queue, "pin 12345\n").unwrap();
            let out = signed.to_str().unwrap();
            let sign = measure(
                &mohur,
                &[
                    "sign",
                    input.to_str().unwrap(),
                    "--out",
                    out,
                    "--reader",
                    &reader,
                    "--ca-bundle",
                    &chain,
                    "--tsa",
                    &tsa.url,
                ],
                &envs,
            );
            let key = holder.join("sign.key.pem");
            let cert = holder.join("sign.pem");
            let py_sign = measure(
                &pyhanko,
                &[
                    "sign",
                    "addsig",
                    "--field",
                    "Sig1",
                    "--timestamp-url",
                    &tsa.url,
                    "pemder",
                    "--no-pass",
                    "--key",
                    key.to_str().unwrap(),
                    "--cert",
                    cert.to_str().unwrap(),
                    "--chain",
                    &chain,
                    input.to_str().unwrap(),
                    by_pyhanko.to_str().unwrap(),
                ],
                &[],
            );
            let verify = measure(&mohur, &["verify", out, "--ca-bundle", &bundle], &envs);
            let py_validate = measure(
                &pyhanko,
                &["sign", "validate", "--no-revocation-check", "--trust-replace", "--trust", &root, out],
                &[],
            );
            for (i, (t, m)) in [sign, py_sign, verify, py_validate].into_iter().enumerate() {
                cols[2 * i].push(t);
                cols[2 * i + 1].push(m);
            }
        }
        let cell =
            |i: usize| format!("{:>7.2} s {:>7.1} MB", median(cols[2 * i].clone()), median(cols[2 * i + 1].clone()));
        println!("{label:>16}  {:>22}  {:>22}  {:>22}  {:>22}", cell(0), cell(1), cell(2), cell(3));
    }
    println!(
        "(mohur sign includes pcscd, the simulated card and the Python pinentry; pyHanko signs with the key file)"
    );
}
