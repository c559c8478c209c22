import Synchronization

/// Collects what a console handler writes, split into lines.
final class LineSink: Sendable {
    private let storage = Mutex<[String]>([])

    var lines: [String] { storage.withLock { $0 } }

    var append: @Sendable (String) -> Void {
        { text in
            let parts = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            self.storage.withLock { $0.append(contentsOf: parts) }
        }
    }
}
