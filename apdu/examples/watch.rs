fn main() {
    let (m, rx) = mohur_apdu::events::ReaderMonitor::start().unwrap();
    let t = std::time::Instant::now();
    while let Ok(ev) = rx.recv_timeout(std::time::Duration::from_secs(3)) {
        println!("{:?} {:?}", t.elapsed(), ev);
    }
    println!("stopping");
    m.stop();
    println!("stopped");
}
