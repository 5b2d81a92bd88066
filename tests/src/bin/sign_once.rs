//! One signature in a fresh process with mohur's own driver, through pcscd: what
//! a citizen's program pays from start to signature. Used by the benchmark.
//!
//! `mohur-tests-sign-once READER KEY_ID_HEX PIN FILE` prints the signature in hex.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [reader, key, pin, file] = args.as_slice() else {
        eprintln!("usage: mohur-tests-sign-once READER KEY_ID_HEX PIN FILE");
        std::process::exit(2);
    };
    let result = (|| -> Result<Vec<u8>, String> {
        let key = u8::from_str_radix(key, 16).map_err(|e| e.to_string())?;
        let data = std::fs::read(file).map_err(|e| e.to_string())?;
        let transport = mohur_apdu::pcsc_transport::PcscTransport::connect(reader).map_err(|e| e.to_string())?;
        let mut card = mohur_apdu::open(Box::new(transport)).map_err(|e| e.to_string())?;
        let pin = mohur_apdu::Pin::from_str_slice(pin);
        card.sign(key, &mohur_tests::sha256_input(&data), Some(&pin)).map_err(|e| e.to_string())
    })();
    match result {
        Ok(sig) => println!("{}", sig.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        Err(e) => {
            eprintln!("mohur-tests-sign-once: {e}");
            std::process::exit(1);
        }
    }
}
