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

    @Test func savesAreSpacedAndStopDoesNotWaitOutTheSpacing() async throws {
        let store = try temporaryStore()
        let keys = Mutex<[String: Int64]>([:])
        let writer = CheckpointWriter(store: store, snapshot: { keys.withLock { $0 } }, onError: { _ in },
                                      minimumSpacing: .seconds(60))
        keys.withLock { $0["pin"] = 1 }
        writer.markDirty()
        let clock = ContinuousClock()
        let firstSaveBy = clock.now + .seconds(30)
        while writer.saves == 0 && clock.now < firstSaveBy { try await Task.sleep(for: .milliseconds(5)) }
        #expect(writer.saves == 1, "the first save is not delayed")
        // Marks within the spacing wait: none is saved before stop().
        for key in Int64(2)...50 {
            keys.withLock { $0["pin"] = key }
            writer.markDirty()
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(writer.saves == 1, "saves are at least the spacing apart")
        #expect(try store.load() == ["pin": 1])
        // stop() saves the newest keys at once; a stop that waited out the 60 s spacing would fail this bound.
        let started = clock.now
        await writer.stop()
        #expect(clock.now - started < .seconds(30))
        #expect(try store.load() == ["pin": 50])
        #expect(writer.saves == 2)
    }
}
