import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A unix datagram socket standing in for systemd's notification socket: it binds a fresh path and a reader
/// thread records every datagram with its arrival time.
final class NotifySocket: Sendable {
    let path: String
    private let fd: Int32
    private let received = Mutex<[(at: ContinuousClock.Instant, text: String)]>([])
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init() throws {
        path = NSTemporaryDirectory() + "pinpipe-notify-\(UInt32.random(in: 0...UInt32.max)).sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [self] in readLoop() }
        thread.start()
    }

    private func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !stopped.load(ordering: .acquiring) {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                let text = String(decoding: buffer[0..<count], as: UTF8.self)
                let now = ContinuousClock.now
                received.withLock { $0.append((now, text)) }
            }
        }
        finished.signal()
    }

    /// Every datagram so far.
    var messages: [(at: ContinuousClock.Instant, text: String)] { received.withLock { $0 } }

    /// Waits (polling) until a datagram satisfies `predicate`, or the timeout passes.
    func waitFor(timeout: Duration = .seconds(2), _ predicate: (String) -> Bool) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let hit = messages.first(where: { predicate($0.text) }) { return hit.text }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    func close() {
        stopped.store(true, ordering: .releasing)
        finished.wait()
        Glibc.close(fd)
        unlink(path)
    }
}
