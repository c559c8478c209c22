/// The connections of an ``HTTPServer`` and whether each is answering a request, with the decisions of a drain
/// as a pure value: stop taking connections, close the idle ones at once, let each request in progress get its
/// reply and close its connection after it.
///
/// - Important: a request is answered only if ``beginRequest(_:)`` claimed it, and the drain closes only idle
///   connections. Both decisions are taken under the server's lock, so a request is either answered or never
///   started: a reply is never cut off after the work it reports (a record produced) was done.
struct HTTPConnectionRegistry<Handle> {
    private(set) var isDraining = false
    private var connections: [Int: (handle: Handle, busy: Bool)] = [:]
    private var nextID = 0

    var count: Int { connections.count }
    var busyCount: Int { connections.values.filter(\.busy).count }

    /// A connection was accepted: its id, or nil when draining or when `limit` connections are open already
    /// (close it without reading).
    mutating func open(_ handle: Handle, limit: Int = .max) -> Int? {
        guard !isDraining, connections.count < limit else { return nil }
        nextID += 1
        connections[nextID] = (handle, false)
        return nextID
    }

    /// A request's head arrived on `id`: true to answer it, false when the drain closed the connection meanwhile
    /// (the request was never started, so dropping it does nothing the client cannot retry).
    mutating func beginRequest(_ id: Int) -> Bool {
        guard let connection = connections[id], !connection.busy else { return false }
        connections[id] = (connection.handle, true)
        return true
    }

    /// Whether the reply being written must ask the client to close (`Connection: close`): during a drain.
    func replyCloses(_ id: Int) -> Bool { isDraining || connections[id] == nil }

    /// The reply to `id` was written: true when the connection must now close (draining).
    mutating func endRequest(_ id: Int) -> Bool {
        guard let connection = connections[id] else { return true }
        if isDraining {
            connections[id] = nil
            return true
        }
        connections[id] = (connection.handle, false)
        return false
    }

    /// The connection ended, by either side.
    mutating func close(_ id: Int) {
        connections[id] = nil
    }

    /// Starts the drain (once): the handles of the idle connections, to close now. Busy ones close after their
    /// reply (``endRequest(_:)``).
    mutating func drain() -> [Handle] {
        isDraining = true
        let idle = connections.filter { !$0.value.busy }
        for id in idle.keys { connections[id] = nil }
        return idle.values.map(\.handle)
    }
}
