@testable import Pipeline
import Testing

/// The endpoint's memory bound as a pure decision: room is taken per request, first come first served, and a
/// waiter that times out holds nothing.
@Suite struct RestAdmissionWindowTests {
    @Test func requestsTakeRoomWholeAndInOrder() {
        var window = RestAdmissionWindow<String>(limit: 10)
        guard case .acquired = window.acquire(8, orEnqueue: "a") else { Issue.record("a waits"); return }
        guard case .wait = window.acquire(5, orEnqueue: "b") else { Issue.record("b got room it does not have"); return }
        // A small request behind a waiting one waits too (no overtaking, so b cannot starve).
        guard case .wait = window.acquire(1, orEnqueue: "c") else { Issue.record("c overtook b"); return }
        #expect(window.inUse == 8 && window.waitingCount == 2)
        #expect(window.release(2) == [])                 // 6 in use: b needs 5 of the 4 free, c waits behind it
        #expect(window.release(6) == ["b", "c"])        // 0 in use: b (5) and c (1) both fit
        #expect(window.inUse == 6 && window.waitingCount == 0)
    }

    @Test func aWaiterThatTimesOutHoldsNothing() {
        var window = RestAdmissionWindow<String>(limit: 2)
        _ = window.acquire(2, orEnqueue: "a")
        guard case .wait(let id) = window.acquire(1, orEnqueue: "b") else { Issue.record("b did not wait"); return }
        #expect(window.timeOut(id) == "b")
        #expect(window.timeOut(id) == nil, "a second time-out finds nothing")
        #expect(window.release(2) == [])
        #expect(window.inUse == 0)
        // A waiter granted before its timer fired is not taken back by it.
        _ = window.acquire(2, orEnqueue: "c")
        guard case .wait(let late) = window.acquire(2, orEnqueue: "d") else { Issue.record("d did not wait"); return }
        #expect(window.release(2) == ["d"])
        #expect(window.timeOut(late) == nil && window.inUse == 2)
    }
}
