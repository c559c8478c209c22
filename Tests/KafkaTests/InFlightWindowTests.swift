import Testing

@testable import Kafka

@Suite struct InFlightWindowTests {
    @Test func grantsUpToTheLimitThenQueues() {
        var window = InFlightWindow<String>(limit: 2)
        let r1 = window.tryAcquire()
        #expect(r1)
        let r2 = window.tryAcquire()
        #expect(r2)
        let r3 = window.tryAcquire()
        #expect(!r3)
        guard case .wait = window.acquire(orEnqueue: "a") else {
            Issue.record("expected to wait")
            return
        }
        guard case .wait = window.acquire(orEnqueue: "b") else {
            Issue.record("expected to wait")
            return
        }
        #expect(window.inFlight == 2)
        #expect(window.waitingCount == 2)
    }

    @Test func releaseHandsTheSlotToTheOldestWaiter() {
        var window = InFlightWindow<String>(limit: 1)
        let r4 = window.tryAcquire()
        #expect(r4)
        _ = window.acquire(orEnqueue: "first")
        _ = window.acquire(orEnqueue: "second")
        let r5 = window.release()
        #expect(r5 == "first")
        #expect(window.inFlight == 1)
        // A newcomer may not overtake the queued waiter even when it sees no free slot.
        let r6 = window.tryAcquire()
        #expect(!r6)
        let r7 = window.release()
        #expect(r7 == "second")
        let r8 = window.release()
        #expect(r8 == nil)
        #expect(window.inFlight == 0)
        #expect(window.highWatermark == 1)
    }

    @Test func newcomerCannotJumpTheQueueAfterRelease() {
        var window = InFlightWindow<Int>(limit: 2)
        let r9 = window.tryAcquire()
        #expect(r9)
        let r10 = window.tryAcquire()
        #expect(r10)
        _ = window.acquire(orEnqueue: 1)
        let r11 = window.release()
        #expect(r11 == 1)
        #expect(window.inFlight == 2)
        let r12 = window.tryAcquire()
        #expect(!r12)
    }

    @Test func closeReturnsWaitersAndRefusesNewcomers() {
        var window = InFlightWindow<Int>(limit: 1)
        let r13 = window.tryAcquire()
        #expect(r13)
        _ = window.acquire(orEnqueue: 7)
        _ = window.acquire(orEnqueue: 8)
        let r14 = window.close()
        #expect(r14 == [7, 8])
        let r15 = window.tryAcquire()
        #expect(!r15)
        guard case .closed = window.acquire(orEnqueue: 9) else {
            Issue.record("expected closed")
            return
        }
        let r16 = window.release()
        #expect(r16 == nil)
        #expect(window.inFlight == 0)
    }

    @Test func manyWaitersCompactWithoutLosingOrder() {
        var window = InFlightWindow<Int>(limit: 1)
        let r17 = window.tryAcquire()
        #expect(r17)
        for waiter in 0..<500 { _ = window.acquire(orEnqueue: waiter) }
        var served: [Int] = []
        while let next = window.release() { served.append(next) }
        #expect(served == Array(0..<500))
        #expect(window.inFlight == 0)
    }

    @Test func tryAcquireUpToTakesWhatIsFreeButNeverPastAWaiter() {
        var window = InFlightWindow<Int>(limit: 10)
        #expect(window.tryAcquire(upTo: 4) == 4)
        #expect(window.tryAcquire(upTo: 100) == 6)
        #expect(window.tryAcquire(upTo: 1) == 0)
        #expect(window.inFlight == 10 && window.highWatermark == 10)
        _ = window.acquire(orEnqueue: 1)
        _ = window.release()  // the slot goes to the waiter
        _ = window.release()  // one free slot, nobody waits
        #expect(window.tryAcquire(upTo: 5) == 1)
        _ = window.acquire(orEnqueue: 2)
        _ = window.release()  // handed to waiter 2
        #expect(window.tryAcquire(upTo: 0) == 0)
        _ = window.close()
        _ = window.release()
        #expect(window.tryAcquire(upTo: 3) == 0, "a closed window grants nothing")
    }
}
