extension SampleDataGenerator {
    /// Geolocation timestamps fall in this range (late 2017 to the end of 2022).
    public static let geoTimestampRange =
        LocalTimestamp(year: 2017, month: 10, day: 1)...LocalTimestamp(year: 2022, month: 12, day: 31, hour: 23, minute: 59, second: 59)

    /// The geolocation row of key `key`.
    public func geo(at key: Int) -> GeoRow {
        var rng = SplitMix64(seed: seed, key: UInt64(truncatingIfNeeded: key), stream: SampleStream.geo)
        let range = Self.geoTimestampRange
        let span = range.upperBound.secondsSinceEpoch - range.lowerBound.secondsSinceEpoch + 1
        let timestamp = LocalTimestamp(
            secondsSinceEpoch: range.lowerBound.secondsSinceEpoch + Int64(rng.below(Int(span))))
        let latitude = Self.sixDigits(rng.unit() * 180.0 - 90.0)
        let longitude = Self.sixDigits(rng.unit() * 360.0 - 180.0)
        // u^2.5 for a uniform u: about 40% of the rows fall in the first tenth of the alphabet.
        let u = rng.unit()
        let names = SampleCountries.names
        let country = names[min(names.count - 1, Int(Double(names.count) * u * u * u.squareRoot()))]
        return GeoRow(ind: key, timestamp: timestamp, latitude: latitude, longitude: longitude, country: country)
    }

    private static let powersOfTen: [Double] = [1, 10, 100, 1e3, 1e4, 1e5, 1e6]

    /// Rounds to six significant digits (at most six decimals), like the source's coordinates.
    static func sixDigits(_ value: Double) -> Double {
        let magnitude = value.magnitude
        let integerDigits = magnitude >= 100 ? 3 : (magnitude >= 10 ? 2 : (magnitude >= 1 ? 1 : 0))
        let scale = powersOfTen[6 - integerDigits]
        let rounded = (magnitude * scale).rounded() / scale
        return value < 0 ? -rounded : rounded
    }
}
