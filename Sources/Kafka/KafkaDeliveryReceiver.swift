import CRdKafka
import Synchronization

/// Hears the delivery reports of many records without an allocation per record: the receiver is registered once
/// (`KafkaProducer.route(topic:receiver:)`), and each record carries only an integer token.
///
/// A closure per record (`produce(…onDelivery:)`) costs a heap box and the closure's context for every record;
/// on a snapshot of 3 million rows those allocations and their reference counting were about 10 % of the
/// process's CPU.
public protocol KafkaDeliveryReceiver: AnyObject, Sendable {
    /// Called on the producer's poll thread, exactly once per record produced through a route to this receiver,
    /// in each partition's order. `error` nil: acknowledged at `partition`/`offset`.
    func delivered(token: Int, partition: Int32, offset: Int64, error: KafkaError?)
}

/// A topic and a registered receiver: what `produce(route:token:…)` needs, resolved once.
public struct KafkaDeliveryRoute: Sendable {
    public let topic: String
    let index: Int
    let topicHandle: RDKafkaHandle
}

/// The receivers a producer's records can be routed to. A record's librdkafka opaque is a tagged integer, never
/// a pointer: bit 63 set, the receiver's index in bits 47…62, the token in bits 0…46. (Boxed closures use real
/// object pointers, which on Linux user space never have bit 63 set.)
///
/// - Important: Registrations last for the producer's life (a receiver is retained until the client is
///   destroyed); a producer takes at most `capacity` of them.
final class DeliveryReceiverTable: Sendable {
    static let tagBit: UInt = 1 << 63
    static let tokenBits = 47
    static let tokenMask: UInt = (1 << 47) - 1
    static let capacity = 1 << 16
    /// The largest token a record can carry.
    static let maxToken = Int(tokenMask)

    private let receivers = Mutex<[any KafkaDeliveryReceiver]>([])

    /// Registers `receiver`; nil when the table is full.
    func register(_ receiver: any KafkaDeliveryReceiver) -> Int? {
        receivers.withLock { list in
            guard list.count < Self.capacity else { return nil }
            list.append(receiver)
            return list.count - 1
        }
    }

    func receiver(at index: Int) -> (any KafkaDeliveryReceiver)? {
        receivers.withLock { index < $0.count ? $0[index] : nil }
    }

    static func opaque(index: Int, token: Int) -> UnsafeMutableRawPointer {
        precondition(token >= 0 && token <= maxToken, "delivery token \(token) out of range")
        let bits = tagBit | (UInt(index) << UInt(tokenBits)) | UInt(token)
        return UnsafeMutableRawPointer(bitPattern: bits)!
    }

    /// The receiver index and token of a tagged opaque; nil for a boxed closure's pointer.
    static func decode(_ opaque: UnsafeMutableRawPointer) -> (index: Int, token: Int)? {
        let bits = UInt(bitPattern: opaque)
        guard bits & tagBit != 0 else { return nil }
        return (Int((bits & ~tagBit) >> UInt(tokenBits)), Int(bits & tokenMask))
    }
}
