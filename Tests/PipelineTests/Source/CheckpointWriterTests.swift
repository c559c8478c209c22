import Foundation
import Synchronization
import Testing

@testable import Pipeline

/// The checkpoint writer saves on its own thread when the keys moved, coalesces marks that come faster than the
/// disk, and saves the final keys before `stop()` returns.
@Suite struct CheckpointWriterTests {
    func temporaryStore() throws -> CheckpointStore {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return CheckpointStore(stateDirectory: directory.path, topicPrefix: "t")
    }

    @Test func stopSavesTheFinalKeysAndMarksCoalesce() async throws {
        let store = try temporaryStore()
        let keys = Mutex<[String: Int64]>([:])
        let writer = CheckpointWriter(store: store, snapshot: { keys.withLock { $0 } },
                                      onError: { Issue.record("save failed: \($0)") })
        for key in Int64(1)...2_000 {
            keys.withLock { $0["pin"] = key }
            writer.markDirty()
        }
        await writer.stop()
        #expect(try store.load() == ["pin": 2_000])
        #expect(writer.saves >= 1 && writer.saves < 2_000, "saves coalesce: \(writer.saves)")
        // Stopped: later marks save nothing, a second stop returns at once.
        keys.withLock { $0["pin"] = 9_999 }
        writer.markDirty()
        await writer.stop()
        #expect(try store.load() == ["pin": 2_000])
    }

    @Test func unchangedKeysAreNotWrittenAgain() async throws {
        let store = try temporaryStore()
        try store.save(["pin": 5])
        let writer = CheckpointWriter(store: store, snapshot: { ["pin": 5] }, onError: { _ in })
        writer.markDirty()
        await writer.stop()
        #expect(writer.saves == 0)
    }
}
