import CLibPQ

/// libpq's cancel object for one connection: asks the server to cancel the statement running right now.
final class PostgresCancelHandle: @unchecked Sendable {
    // @unchecked Sendable: the PGcancel pointer is immutable and freed only in deinit; libpq documents
    // PQcancel as safe to call from any thread (it only reads the object and opens its own socket).
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQfreeCancel(handle)
    }

    /// Sends a cancel request; returns false if it could not be sent.
    @discardableResult
    func cancel() -> Bool {
        var buffer = [CChar](repeating: 0, count: 256)
        return PQcancel(handle, &buffer, Int32(buffer.count)) != 0
    }
}
