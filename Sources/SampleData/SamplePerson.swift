/// One person of the generator's fixed pool. A person appears under many keys (the original data repeats
/// users), always with the same name, age, joining date, account name and follower count.
struct SamplePerson: Sendable, Equatable {
    var firstName: String
    var lastName: String
    var age: Int
    var dateJoined: LocalTimestamp
    /// The poster (account) name shown on this person's pins.
    var posterName: String
    /// The exact follower count; ``followerText`` is what the table stores.
    var followers: Int

    /// `437`, `26k`, `6M`: whole numbers of thousands or millions above 999, as the source shows them.
    var followerText: String {
        if followers < 1_000 { return String(followers) }
        if followers < 1_000_000 { return "\(followers / 1_000)k" }
        return "\(followers / 1_000_000)M"
    }

    /// Persons are drawn from this many; with 11,153 keys each appears about four times.
    static let poolSize = 2_500

    /// log10 of the median follower count before the age and joining-year shifts, and the spread.
    static let baseLog10Followers = 3.95
    static let spreadLog10Followers = 1.15
    /// The largest follower count (the original's maximum is about 15M).
    static let maximumFollowers = 15_000_000
    private static let maximumLog10 = 7.176_091  // log10(15,000,000)

    /// Younger users and earlier joiners have more followers (the published analyses agree on both).
    static func ageShift(_ age: Int) -> Double {
        switch age {
        case ..<25: 0.75
        case 25...35: 0.1
        case 36...50: -0.3
        default: -0.4
        }
    }

    static func joinYearShift(_ year: Int) -> Double {
        switch year {
        case ...2015: 0.55
        case 2016: 0.0
        default: -0.4
        }
    }

    init(seed: UInt64, number: Int) {
        var rng = SplitMix64(seed: seed, key: UInt64(number), stream: SampleStream.person)
        firstName = rng.pick(SampleNames.first)
        lastName = rng.pick(SampleNames.last)
        // 20...59, skewed young: the square of a uniform puts ~35% under 25.
        let u = rng.unit()
        age = 20 + Int(40.0 * u * u)
        let yearDraw = rng.unit()
        let year = yearDraw < 0.45 ? 2015 : (yearDraw < 0.80 ? 2016 : 2017)
        let start = LocalTimestamp(year: year, month: 1, day: 1).secondsSinceEpoch
        let end = LocalTimestamp(year: year + 1, month: 1, day: 1).secondsSinceEpoch
        dateJoined = LocalTimestamp(secondsSinceEpoch: start + Int64(rng.below(Int(end - start))))

        let mean = Self.baseLog10Followers + Self.ageShift(age) + Self.joinYearShift(year)
        var exponent = mean + Self.spreadLog10Followers * rng.normal()
        var tries = 0
        while exponent > Self.maximumLog10 && tries < 8 {
            exponent = mean + Self.spreadLog10Followers * rng.normal()
            tries += 1
        }
        followers = min(Self.maximumFollowers, Int(Self.exp10(max(exponent, -1.0))))

        switch rng.below(10) {
        case 0..<4:
            posterName = "\(rng.pick(SampleNames.first)) \(rng.pick(SampleNames.last))"
        case 4..<8:
            posterName = "\(rng.pick(SampleNames.brandAdjectives)) \(rng.pick(SampleNames.brandNouns))"
        default:
            posterName = "\(firstName)'s \(rng.pick(SampleNames.brandNouns))"
        }
    }

    /// 10^x by exact integer powers and a Taylor series for the fraction: plain arithmetic, the same bytes on
    /// every platform (unlike `libm`'s `pow`).
    static func exp10(_ x: Double) -> Double {
        let whole = x.rounded(.down)
        var power = 1.0
        var n = Int(whole)
        while n > 0 {
            power *= 10
            n -= 1
        }
        while n < 0 {
            power /= 10
            n += 1
        }
        let y = (x - whole) * 2.302_585_092_994_046  // ln 10
        var term = 1.0
        var sum = 1.0
        for k in 1...40 {
            term *= y / Double(k)
            sum += term
        }
        return power * sum
    }
}
