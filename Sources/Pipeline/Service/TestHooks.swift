#if canImport(Glibc)
import Glibc
#endif

/// Fault injection for the tests of crashes and hangs, read from the environment once at start.
///
/// - `PINPIPE_TEST_CRASH_AFTER_UPLOAD=N`: exit abruptly (like `kill -9`) after the N-th object is stored and
///   before its offsets are committed.
/// - `PINPIPE_TEST_HANG_ACTOR=source|consumer|sink` with `PINPIPE_TEST_HANG_AFTER=<seconds>`: that actor's loop
///   stops (and stops beating) after the delay, so the watchdog sees a hung actor.
public struct TestHooks: Sendable {
    public var crashAfterUpload: Int?
    public var hangActor: String?
    public var hangAfter: Duration

    public init(environment: [String: String]) {
        crashAfterUpload = environment["PINPIPE_TEST_CRASH_AFTER_UPLOAD"].flatMap(Int.init)
        hangActor = environment["PINPIPE_TEST_HANG_ACTOR"]
        hangAfter = .seconds(environment["PINPIPE_TEST_HANG_AFTER"].flatMap(Double.init) ?? 5)
    }

    public static let none = TestHooks(environment: [:])

    func afterUpload(number: Int) {
        if let crashAfterUpload, number >= crashAfterUpload {
            _exit(137)
        }
    }

    /// Blocks the calling actor forever once its hang time came (never returns when hanging).
    func hangIfRequested(actor: String, startedAt: ContinuousClock.Instant) async {
        guard hangActor == actor, ContinuousClock.now - startedAt >= hangAfter else { return }
        await AsyncCondition().wait()  // never set: returns only when the task is cancelled
    }
}
